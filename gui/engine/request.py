"""What the GUI or the CLI asks the engine for: one generation request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from catalog import Options
from gui.engine.attachments import AttachmentSource, describe_source


@dataclass(frozen=True)
class EngineRequest:
    prompt: str
    options: Options
    attachments: tuple[AttachmentSource, ...] = field(default_factory=tuple)
    session_id: str | None = None

    def validation_body(self) -> dict[str, Any]:
        """The mapping ``catalog.validate`` reads; attachments are counted, not uploaded yet."""
        return {
            "prompt": self.prompt,
            **self.options.to_body(),
            "attachmentCount": len(self.attachments),
        }

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe record for the journal (bytes attachments are described, not stored).
        The options keep their camelCase body names, so rows written by older versions load."""
        return {
            "prompt": self.prompt,
            **self.options.to_body(),
            "attachments": [describe_source(a) for a in self.attachments],
            "sessionId": self.session_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EngineRequest:
        session_id = data.get("sessionId")
        return cls(
            prompt=str(data.get("prompt", "")),
            options=Options.from_body(data),
            session_id=session_id if isinstance(session_id, str) else None,
        )
