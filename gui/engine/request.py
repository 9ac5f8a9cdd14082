"""What the GUI or the CLI asks the engine for: one generation request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gui.engine.attachments import AttachmentSource, describe_source


@dataclass(frozen=True)
class EngineRequest:
    prompt: str
    model: str
    aspect_ratio: str | None = None
    num_images: int = 1
    resolution: str | None = None
    quality: str | None = None
    attachments: tuple[AttachmentSource, ...] = field(default_factory=tuple)
    session_id: str | None = None

    def validation_body(self) -> dict[str, Any]:
        """The mapping ``catalog.validate`` reads; attachments are counted, not uploaded yet."""
        return {**self._options(), "attachmentCount": len(self.attachments)}

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe record for the journal (bytes attachments are described, not stored)."""
        return {
            **self._options(),
            "attachments": [describe_source(a) for a in self.attachments],
            "sessionId": self.session_id,
        }

    def _options(self) -> dict[str, Any]:
        """The prompt and options in the HTTP body's camelCase names."""
        return {
            "prompt": self.prompt,
            "model": self.model,
            "aspectRatio": self.aspect_ratio,
            "numImages": self.num_images,
            "resolution": self.resolution,
            "quality": self.quality,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EngineRequest:
        return cls(
            prompt=str(data.get("prompt", "")),
            model=str(data.get("model", "")),
            aspect_ratio=data.get("aspectRatio"),
            num_images=int(data.get("numImages") or 1),
            resolution=data.get("resolution"),
            quality=data.get("quality"),
            session_id=data.get("sessionId"),
        )
