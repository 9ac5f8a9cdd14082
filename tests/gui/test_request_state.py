"""Every model's control rules: ratios, count, resolution, quality, attachments."""

from __future__ import annotations

import pytest

from catalog import MODEL_IDS, MODELS
from gui.widgets.option_controls import OptionControls
from gui.widgets.request_state import (
    DEFAULT_MODEL,
    RequestState,
    blocking_reasons,
    fit_to_model,
    initial_state,
    renumber_mentions,
    switch_model,
)

# A state no model fully accepts, so fitting must replace or clamp every field.
ODD = RequestState(
    model="img-nano-banana-pro", aspect_ratio="21:9", num_images=4, resolution="4K", quality=None
)


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_fit_keeps_only_what_the_model_offers(model_id: str) -> None:
    spec = MODELS[model_id]
    state = fit_to_model(ODD, model_id)
    assert state.model == model_id
    if spec.aspect_ratios:
        assert state.aspect_ratio in spec.aspect_ratios
        if "21:9" in spec.aspect_ratios:
            assert state.aspect_ratio == "21:9"  # kept when allowed
    else:
        assert state.aspect_ratio is None
    assert 1 <= state.num_images <= spec.max_images
    assert state.resolution == ("4K" if "4K" in spec.resolutions else spec.default_resolution)
    assert state.quality == spec.default_quality
    assert state.cost > 0


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_controls_show_exactly_the_models_options(qtbot, model_id: str) -> None:
    spec = MODELS[model_id]
    controls = OptionControls()
    qtbot.addWidget(controls)
    controls.set_state(fit_to_model(initial_state(), model_id))
    assert controls.ratio_options() == list(spec.aspect_ratios)
    assert controls.ratio.isVisibleTo(controls) == bool(spec.aspect_ratios)
    assert controls.count_options() == list(range(1, spec.max_images + 1))
    assert controls.resolution_options() == list(spec.resolutions)
    assert controls.resolution.isVisibleTo(controls) == bool(spec.resolutions)
    assert controls.quality_options() == list(spec.qualities)
    assert spec.label in controls.model_chip.text()


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_attachment_rules(model_id: str) -> None:
    spec = MODELS[model_id]
    state = fit_to_model(initial_state(), model_id)
    without = blocking_reasons(state, "a lighthouse", 0, None)
    assert bool(without) == spec.attachments.required
    if spec.attachments.accepted:
        assert blocking_reasons(state, "a lighthouse", spec.attachments.max, None) == []
        too_many = blocking_reasons(state, "a lighthouse", spec.attachments.max + 1, None)
        assert any("at most" in r or "exactly" in r for r in too_many)


def test_base_model_with_attachments_becomes_its_edit_variant() -> None:
    switch = switch_model(initial_state(), "img-seedream-v45", 2)
    assert switch.state.model == "img-seedream-v45-edit"
    assert switch.keep_attachments == 2 and switch.notice == ""


def test_switching_trims_attachments_with_a_notice() -> None:
    switch = switch_model(initial_state(), "img-flux-kontext-pro", 3)
    assert switch.keep_attachments == 1
    assert "the last 2 images are kept but not sent" in switch.notice


def test_switching_clamps_the_count_and_picks_an_allowed_ratio() -> None:
    state = RequestState(model="img-nano-banana", aspect_ratio="21:9", num_images=4)
    switch = switch_model(state, "img-gpt-image-1-5", 0)
    assert switch.state.aspect_ratio == "1:1"
    assert switch.state.quality == "medium"
    assert switch.state.resolution is None


def test_reasons_cover_prompt_credits_and_mentions() -> None:
    state = fit_to_model(initial_state(), "img-kling-o1")
    assert "empty" in blocking_reasons(state, "  ", 1, None)[0]
    assert "@Image3" in blocking_reasons(state, "put @Image3 here", 2, None)[0]
    gpt = fit_to_model(
        RequestState(DEFAULT_MODEL, quality="high", num_images=4), "img-gpt-image-1-5"
    )
    assert gpt.cost == 64
    assert "64 credits" in blocking_reasons(gpt, "a cat", 0, 20)[0]
    assert blocking_reasons(gpt, "a cat", 0, 64) == []


def test_renumber_mentions() -> None:
    prompt = "Put @Image1 next to @Image2 and @Image3"
    assert renumber_mentions(prompt, 2) == "Put @Image1 next to and @Image2"
    assert renumber_mentions(prompt, 3) == "Put @Image1 next to @Image2 and"
    assert renumber_mentions("no mentions", 1) == "no mentions"
