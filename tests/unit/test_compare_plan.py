"""Compare models: which of the chosen models take the request, and the summed cost."""

from __future__ import annotations

from catalog import Options, cost
from gui.engine.compare_plan import (
    compare_blocking_reasons,
    compare_options,
    left_out_sentence,
    plan_compare,
)

BASE = Options.defaults("img-nano-banana")


def test_the_cost_is_the_sum_of_each_models_own_cost() -> None:
    base = Options("img-nano-banana", "16:9", 2)
    plan = plan_compare("a red fox", base, ["img-nano-banana", "img-flux-2-max", "img-reve"], 0)
    assert [e.model_id for e in plan.accepted] == ["img-nano-banana", "img-flux-2-max", "img-reve"]
    expected = sum(
        cost(m, 2, aspect_ratio=o.aspect_ratio, resolution=o.resolution, quality=o.quality)
        for m, o in ((e.model_id, e.options) for e in plan.accepted)
        if o is not None
    )
    assert plan.total_cost == expected
    square = plan_compare("a red fox", BASE, ["img-nano-banana", "img-flux-2-max"], 0)
    assert square.total_cost == 3 + 7  # one square image each, at each model's own price


def test_each_model_gets_its_own_options() -> None:
    # 21:9 is not offered by every model: each falls back to its own default ratio.
    base = Options("img-nano-banana", "21:9", 1)
    for entry in plan_compare(
        "a castle", base, ["img-nano-banana", "img-imagen4-preview"], 0
    ).entries:
        assert entry.options is not None
        assert entry.options.aspect_ratio in entry.options.spec.aspect_ratios


def test_a_model_that_cannot_take_the_request_is_left_out_with_a_sentence() -> None:
    plan = plan_compare("a red fox", BASE, ["img-nano-banana", "img-kling-o1", "img-reve"], 0)
    assert [e.model_id for e in plan.accepted] == ["img-nano-banana", "img-reve"]
    (refused,) = plan.refused
    assert refused.model_id == "img-kling-o1" and refused.options is None
    assert "reference image" in refused.reason
    sentence = left_out_sentence(refused)
    assert sentence.startswith("Left out of the comparison: Kling O1 Image Edit needs")
    assert sentence.endswith(".") and ".." not in sentence
    assert plan.total_cost == 6  # only the models that go are counted
    assert compare_blocking_reasons(plan, "a red fox", 100) == []


def test_a_prompt_past_one_models_limit_leaves_only_that_model_out() -> None:
    prompt = "x" * 3000  # Reve takes 2,560 characters, the others 4,000
    plan = plan_compare(prompt, BASE, ["img-nano-banana", "img-reve"], 0)
    assert [e.model_id for e in plan.refused] == ["img-reve"]
    assert "2,560" in plan.refused[0].reason


def test_references_move_base_models_onto_their_edit_variants() -> None:
    plan = plan_compare("make it blue", BASE, ["img-nano-banana", "img-imagen4-preview"], 2)
    assert [e.model_id for e in plan.accepted] == ["img-nano-banana-edit"]
    assert plan.refused[0].model_id == "img-imagen4-preview"
    assert compare_options(BASE, "img-seedream-v4", 1).model == "img-seedream-v4-edit"


def test_repeats_and_unknown_models_are_dropped() -> None:
    ids = ["img-nano-banana", "no-such-model", "img-nano-banana", "img-nano-banana-edit"]
    plan = plan_compare("a fox", BASE, ids, 1)
    assert [e.model_id for e in plan.entries] == ["img-nano-banana-edit"]


def test_blocking_reasons_say_what_is_missing() -> None:
    one = plan_compare("a fox", BASE, ["img-nano-banana"], 0)
    assert compare_blocking_reasons(one, "a fox", None) == ["Choose at least 2 models to compare."]
    two = plan_compare("", BASE, ["img-nano-banana", "img-reve"], 0)
    assert compare_blocking_reasons(two, "", None) == ["Enter a prompt to compare the models with."]
    none = plan_compare("a fox", BASE, ["img-kling-o1", "img-flux-kontext-pro"], 0)
    reasons = compare_blocking_reasons(none, "a fox", None)
    assert reasons[0] == "None of the chosen models can take this request:"
    assert len(reasons) == 3
    costly = plan_compare("a fox", BASE, ["img-nano-banana-pro", "img-flux-2-max"], 0)
    assert compare_blocking_reasons(costly, "a fox", 10) == [
        "Comparing these models needs 22 credits; you have 10 available."
    ]
