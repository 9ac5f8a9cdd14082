"""The request preview's pure parts: the provider request of every model (built by the
providers' own payload builders), the model sheet's facts, and the command line."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from backend.providers.base import ProviderRequest
from backend.providers.fanout import call_plan
from backend.providers.payloads import build_payload
from backend.providers.request_preview import preview_request
from catalog import MODELS, Options, normalize
from gui.engine.model_facts import model_facts
from gui.engine.preview import PreviewRefused, RequestPreview, command_line, generate_body
from gui.engine.request import EngineRequest

STORE_URL = "http://127.0.0.1:9/files/uploads/ref.png"


def _request(model_id: str, num_images: int = 2) -> ProviderRequest:
    spec = MODELS[model_id]
    refs = [STORE_URL] * max(spec.attachments.min, min(spec.attachments.max, 2))
    body = {
        "prompt": "a lighthouse at dawn",
        "model": model_id,
        "numImages": min(num_images, spec.max_images),
        "attachmentImages": [{"url": u} for u in refs],
    }
    return ProviderRequest.from_input(normalize(body), refs)


@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_every_models_preview_is_its_providers_request(model_id: str) -> None:
    request = _request(model_id)
    preview = preview_request(request, served_by=MODELS[model_id].provider)
    plan = call_plan(request.model, request.num_images)
    first = ProviderRequest.from_input(
        normalize({"prompt": request.prompt, "model": model_id, "numImages": plan[0],
                   "attachmentImages": [{"url": u} for u in request.attachment_urls]}),
        request.attachment_urls,
    )  # fmt: skip
    endpoint, body = build_payload(first)
    assert preview.endpoint == endpoint and preview.calls == len(plan)
    assert preview.method == "POST"
    if preview.provider == "fal":
        assert preview.url == f"https://queue.fal.run/{endpoint}" and preview.body == body
    elif preview.provider == "wavespeed":
        assert preview.url == endpoint and preview.url.startswith("https://")
    else:  # Azure: the URL's variable, never its value
        assert preview.url == "${" + endpoint + "}"
    # The preview is the request, not a local stand-in: no note says otherwise.
    assert not any("local provider" in n for n in preview.notes)
    for name in ("Provider", "Endpoint", "Call", "References", "Images"):
        assert dict(model_facts(model_id).rows)[name]


def test_a_local_backend_says_who_renders() -> None:
    preview = preview_request(_request("img-reve"), served_by="local")
    assert any("local provider renders" in n for n in preview.notes)


def test_the_azure_edit_is_multipart_with_the_reference_as_its_image() -> None:
    preview = preview_request(_request("img-gpt-image-1-edit", 1), served_by="azure")
    assert preview.content_type == "multipart/form-data"
    assert preview.body["image"] == STORE_URL


def test_the_command_line_quotes_what_a_shell_would_break_on() -> None:
    request = EngineRequest(
        prompt='it\'s a "test"; rm -rf ~ $(x)',
        options=Options(model="img-nano-banana-pro", aspect_ratio="16:9", num_images=2),
        attachments=(Path("/tmp/my pics/a b.png"), (b"\x89PNG", "pasted")),
    )
    line = command_line(request)
    words = shlex.split(line, comments=True)
    assert words == [
        "imagegen", "generate", "--model", "img-nano-banana-pro",
        "--prompt", "it's a \"test\"; rm -rf ~ $(x)",
        "--aspect-ratio", "16:9", "--num-images", "2", "--image", "/tmp/my pics/a b.png",
    ]  # fmt: skip
    assert line.endswith("# plus 1 reference(s) that are not files: save them and add --image")


def test_the_body_is_normalised_when_valid_and_as_typed_when_not() -> None:
    valid = EngineRequest("a fox", Options(model="img-nano-banana-pro"))
    body = generate_body(valid, [])
    assert body["resolution"] == MODELS["img-nano-banana-pro"].default_resolution
    invalid = EngineRequest("", Options(model="img-nano-banana-pro", num_images=2))
    assert generate_body(invalid, ["u"]) == {
        "prompt": "",
        "model": "img-nano-banana-pro",
        "numImages": 2,
        "attachmentImages": [{"url": "u"}],
    }


def test_an_unreadable_server_answer_is_a_sentence() -> None:
    with pytest.raises(PreviewRefused, match="unreadable"):
        RequestPreview.from_json({"provider": "fal"})
