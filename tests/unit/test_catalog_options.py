"""catalog.Options: one value for a generation's options, fitted to the catalog, and the
formats that carry it (camelCase bodies and journal rows, snake_case settings) still load."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from catalog import MODEL_IDS, MODELS, Options, cost
from gui.engine.events import GenerationStarted
from gui.engine.journal import Journal
from gui.engine.request import EngineRequest
from gui.engine.settings import LastUsedSettings, sanitize

# Every field name of Options: a new option added there must reach every format below.
FIELDS = [f.name for f in dataclasses.fields(Options)]


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_defaults_are_the_models_own(model_id: str) -> None:
    spec = MODELS[model_id]
    options = Options.defaults(model_id)
    assert options == Options(
        model_id, spec.default_aspect_ratio, 1, spec.default_resolution, spec.default_quality
    )
    assert options.spec is spec and options.cost == cost(model_id, 1)


def test_moving_to_another_model_keeps_only_what_it_offers() -> None:
    odd = Options("img-kling-o1", "21:9", 4, "2K", None)
    assert odd.for_model("img-nano-banana-pro") == Options(
        "img-nano-banana-pro", "21:9", 4, "2K", None
    )
    assert odd.for_model("img-gpt-image-1-5") == Options(
        "img-gpt-image-1-5", "1:1", 4, None, "medium"
    )
    assert Options("img-reve", num_images=0).for_model("img-reve").num_images == 1
    with pytest.raises(KeyError):
        odd.for_model("img-retired")


def test_unset_choices_are_filled_from_another_value() -> None:
    loaded = Options("img-nano-banana-pro", "3:4", 2)  # a Convex row: no resolution
    bar = Options("img-reve", "16:9", 1, "4K", "high")
    assert loaded.filled_from(bar) == Options("img-nano-banana-pro", "3:4", 2, "4K", "high")


def test_body_round_trip_and_what_a_bad_body_reads_as() -> None:
    options = Options("img-gpt-image-1-5", "4:3", 3, None, "high")
    body = options.to_body()
    assert body == {
        "model": "img-gpt-image-1-5",
        "aspectRatio": "4:3",
        "numImages": 3,
        "resolution": None,
        "quality": "high",
    }
    assert Options.from_body(body) == options
    # Nothing is checked against the catalog here: validation says what is wrong later.
    hostile = {"model": None, "aspectRatio": 7, "numImages": True, "quality": ["x"]}
    assert Options.from_body(hostile) == Options("")
    assert Options.from_body({"model": "img-reve", "numImages": 2.0}).num_images == 2


def test_a_journal_row_written_before_options_existed_still_resumes(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    try:
        # The request column exactly as earlier versions wrote it (EngineRequest.to_json).
        old = {
            "prompt": "a harbour",
            "model": "img-nano-banana-pro",
            "aspectRatio": "16:9",
            "numImages": 2,
            "resolution": "4K",
            "quality": None,
            "attachments": [],
            "sessionId": "s1",
        }
        journal.create("old", old)
        row = journal.get("old")
        assert row is not None
        request = EngineRequest.from_json(row.request)
        assert request.options == Options("img-nano-banana-pro", "16:9", 2, "4K", None)
        assert (request.prompt, request.session_id) == ("a harbour", "s1")
        assert request.to_json() == old  # and it is written the same way today
    finally:
        journal.close()


def test_a_settings_file_written_before_options_existed_still_loads() -> None:
    old = json.loads(
        '{"model": "img-gpt-image-1-5", "aspect_ratio": "3:4", "num_images": 3,'
        ' "resolution": null, "quality": "high"}'
    )
    assert sanitize(old) == LastUsedSettings("img-gpt-image-1-5", "3:4", 3, None, "high")
    assert sorted(dataclasses.asdict(sanitize(old))) == sorted(old)  # same keys written back


def test_every_carrier_embeds_the_one_value() -> None:
    """The request, the tile's first event and the remembered settings hold an Options
    (not five copied fields), so an option added to Options reaches all of them."""
    options = Options("img-reve", "1:1", 2)
    request = EngineRequest("a fox", options)
    started = GenerationStarted("l1", "a fox", options, None)
    assert request.options is options and started.options is options
    assert LastUsedSettings is Options
    for carrier in (EngineRequest, GenerationStarted):
        names = {f.name for f in dataclasses.fields(carrier)}
        assert not names & set(FIELDS), f"{carrier.__name__} copies option fields"
