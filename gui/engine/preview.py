"""The request preview: what the prompt bar's request would send to the model's provider.

``preview_request`` builds the generate body exactly as ``prepare.py`` does (normalised
with the catalog's defaults, references uploaded to our store and named by URL) and asks
the backend's dry run (``POST /api/mobile/generate-images/preview``), which calls no
provider and holds no credits. An invalid request is sent as it is, so the answer is the
server's own refusal sentence. References are uploaded through the engine's uploader,
which dedupes by content: the Generate that follows reuses the same URLs.

``command_line`` spells the same request as ``imagegen generate ...``, shell-quoted.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog import InvalidGenerationInput, normalize
from gui.engine.api_client import BackendError
from gui.engine.attachments import AttachmentError, is_url
from gui.engine.engine import GenerationEngine
from gui.engine.request import EngineRequest

# The uploader reports progress under a generation's local id; a preview has none.
PREVIEW_UPLOAD_ID = "request-preview"


class PreviewRefused(Exception):
    """The backend refused the request (its sentence), or a reference could not be read."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class RequestPreview:
    provider: str
    endpoint: str
    method: str
    url: str
    content_type: str
    body: dict[str, Any]
    calls: int
    notes: tuple[str, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RequestPreview:
        body = data.get("body")
        notes = data.get("notes")
        if not isinstance(body, dict) or not all(
            isinstance(data.get(k), str) for k in ("provider", "endpoint", "method", "url")
        ):
            raise PreviewRefused("The server's preview is unreadable.", "bad_response")
        calls = data.get("calls")
        return cls(
            provider=data["provider"],
            endpoint=data["endpoint"],
            method=data["method"],
            url=data["url"],
            content_type=str(data.get("contentType") or "application/json"),
            body=body,
            calls=calls if isinstance(calls, int) and calls >= 1 else 1,
            notes=tuple(n for n in notes if isinstance(n, str)) if isinstance(notes, list) else (),
        )

    def as_json(self) -> str:
        """The request as one JSON document (what "Copy as JSON" copies)."""
        request = {
            "provider": self.provider,
            "method": self.method,
            "url": self.url,
            "contentType": self.content_type,
            "body": self.body,
        }
        if self.calls > 1:
            request["calls"] = self.calls
        return json.dumps(request, indent=2, ensure_ascii=False)


def generate_body(request: EngineRequest, urls: list[str]) -> dict[str, Any]:
    """The body generate would get: normalised when valid, as typed when not (so the
    server answers with its refusal)."""
    try:
        # As prepare.py builds it: the catalog's defaults and caps applied.
        body = normalize(request.validation_body()).to_body()
    except (InvalidGenerationInput, ValueError):
        body = {"prompt": request.prompt, **request.options.to_body()}
    body = {k: v for k, v in body.items() if v is not None}
    if urls:
        body["attachmentImages"] = [{"url": u} for u in urls]
    return body


async def preview_request(engine: GenerationEngine, request: EngineRequest) -> RequestPreview:
    """The provider request of ``request``; ``PreviewRefused`` with the sentence if not."""
    try:
        urls = await engine.uploader.upload_all(PREVIEW_UPLOAD_ID, request.attachments)
        data = await engine.api.preview(generate_body(request, urls))
    except AttachmentError as exc:
        raise PreviewRefused(str(exc), "attachment") from exc
    except BackendError as exc:
        raise PreviewRefused(exc.message, exc.code) from exc
    return RequestPreview.from_json(data)


def command_line(request: EngineRequest) -> str:
    """``imagegen generate --model … --prompt … [options] [--image PATH]…``, shell-quoted.
    A reference that is not a file (pasted, or a generated image's URL) cannot be named
    on the command line: a trailing shell comment says so."""
    options = request.options
    words = ["imagegen", "generate", "--model", options.model, "--prompt", request.prompt]
    for flag, value in (
        ("--aspect-ratio", options.aspect_ratio),
        ("--num-images", options.num_images),
        ("--resolution", options.resolution),
        ("--quality", options.quality),
    ):
        if value is not None:
            words += [flag, str(value)]
    others = 0
    for source in request.attachments:
        if isinstance(source, Path) or (isinstance(source, str) and not is_url(source)):
            words += ["--image", str(source)]
        else:
            others += 1
    line = shlex.join(words)
    if others:
        line += f"  # plus {others} reference(s) that are not files: save them and add --image"
    return line
