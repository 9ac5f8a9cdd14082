"""The model picker's search ranks the exact name first, and Enter picks it (issue 14, 6)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from catalog import MODELS, picker_models
from gui.widgets.model_picker import ModelPicker
from gui.widgets.model_search import Rank, match_rank, rank_models


def _open(qtbot, selected: str) -> ModelPicker:
    picker = ModelPicker()
    qtbot.addWidget(picker)
    picker.open_for(selected)
    qtbot.waitUntil(picker.isVisible)
    return picker


@pytest.mark.parametrize(
    ("query", "expected", "selected"),
    [
        ("GPT-Image 1 Edit", "img-gpt-image-1-edit", "img-nano-banana"),
        ("GPT-Image 1 Edit", "img-gpt-image-1-edit", "img-gpt-image-1-5-edit"),
        ("Nano Banana", "img-nano-banana", "img-reve"),
        ("Nano Banana", "img-nano-banana", "img-nano-banana-pro"),
        ("nano banana", "img-nano-banana", "img-nano-banana-pro"),
        ("GPT-Image 1", "img-gpt-image-1", "img-gpt-image-1-5"),
        ("Seedream v4", "img-seedream-v4", "img-seedream-v45"),
    ],
)
def test_typing_a_models_exact_name_puts_it_first_and_enter_picks_it(
    qtbot, query: str, expected: str, selected: str
) -> None:
    picker = _open(qtbot, selected)
    qtbot.keyClicks(picker.search, query)
    assert picker.visible_model_ids()[0] == expected
    assert picker.current_model_id() == expected
    with qtbot.waitSignal(picker.modelChosen) as chosen:
        qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    assert chosen.args == [expected]
    assert not picker.isVisible()


def test_a_close_match_still_follows_the_exact_one(qtbot) -> None:
    picker = _open(qtbot, "img-nano-banana")
    qtbot.keyClicks(picker.search, "GPT-Image 1 Edit")
    assert picker.visible_model_ids() == ["img-gpt-image-1-edit", "img-gpt-image-1-5-edit"]
    qtbot.keyClick(picker.search, Qt.Key.Key_Down)
    with qtbot.waitSignal(picker.modelChosen) as chosen:
        qtbot.keyClick(picker.search, Qt.Key.Key_Enter)
    assert chosen.args == ["img-gpt-image-1-5-edit"]


def test_the_selected_model_stays_current_while_it_ranks_with_the_top(qtbot) -> None:
    picker = _open(qtbot, "img-nano-banana-pro")
    qtbot.keyClicks(picker.search, "nano")  # every Nano Banana starts with "nano"
    assert picker.visible_model_ids()[0] == "img-nano-banana-pro"
    assert picker.current_model_id() == "img-nano-banana-pro"
    qtbot.keyClicks(picker.search, " banana")  # now "Nano Banana" is exact
    assert picker.current_model_id() == "img-nano-banana"


def test_label_prefix_then_label_words_then_company_then_description() -> None:
    models = picker_models(show_all=True)
    ranked = rank_models(models, "image")
    ranks = [match_rank(m, "image") for m in ranked]
    assert ranks == sorted(ranks)  # best first
    assert [m.id for m in ranked[:2]] == ["img-imagen4-preview", "img-imagen3"]  # prefix
    assert match_rank(MODELS["img-hunyuan-v3"], "image") == Rank.LABEL  # a word of the label
    assert match_rank(MODELS["img-flux-2-max"], "image") == Rank.ANYWHERE  # description
    assert match_rank(MODELS["img-gpt-image-1"], "GPT-Image 1") == Rank.EXACT
    assert match_rank(MODELS["img-gpt-image-1-5"], "GPT-Image 1") == Rank.PREFIX
    assert match_rank(MODELS["img-gpt-image-1-5-edit"], "gpt 1 edit") == Rank.LABEL
    assert match_rank(MODELS["img-hunyuan-v3"], "tencent") == Rank.COMPANY
    assert match_rank(MODELS["img-reve"], "zzz") is None
    # Equal ranks keep the catalog's order; an empty query lists everything as it is.
    assert rank_models(models, "") == models
    assert [m.id for m in rank_models(models, "seedream")] == [
        "img-seedream-v45",
        "img-seedream-v45-edit",
        "img-seedream-v4",
        "img-seedream-v4-edit",
    ]
