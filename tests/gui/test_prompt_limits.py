"""The prompt bar's counter shows the selected model's own prompt limit (issue 13)."""

from __future__ import annotations

from catalog.validation import MAX_PROMPT_CHARS
from gui.widgets.prompt_bar import prompt_limit
from gui.widgets.request_state import RequestState
from tests.gui.support import shown_prompt_bar


def test_the_counter_shows_the_models_own_maximum(qtbot, make_png) -> None:
    bar = shown_prompt_bar(qtbot, "img-kling-o1")
    bar.strip.add_files([make_png()])
    bar.prompt.setPlainText("@Image1 as a watercolor")
    assert bar.counter.text() == "23 / 2,500"
    assert "2,500 characters" in bar.counter.toolTip()
    assert bar.generate_button.isEnabled()


def test_the_counter_follows_the_model(qtbot) -> None:
    bar = shown_prompt_bar(qtbot, "img-nano-banana")
    bar.prompt.setPlainText("y" * 2600)
    assert bar.counter.text() == "2,600 / 4,000"
    bar.choose_model("img-reve")
    assert bar.counter.text() == "2,600 / 2,560"
    # The text is kept (switching never cuts it); Generate names the model's limit.
    assert len(bar.text()) == 2600
    assert not bar.generate_button.isEnabled()
    assert bar.generate_button.toolTip() == (
        "Reve prompts can be at most 2,560 characters; this one has 2,600."
    )
    bar.choose_model("img-flux-2-max")
    assert bar.counter.text() == "2,600 / 4,000" and bar.generate_button.isEnabled()


def test_a_too_short_prompt_names_the_minimum(qtbot) -> None:
    bar = shown_prompt_bar(qtbot, "img-nano-banana")
    qtbot.keyClicks(bar.prompt, "ab")
    assert not bar.generate_button.isEnabled()
    assert "Nano Banana prompts need at least 3 characters" in bar.generate_button.toolTip()
    qtbot.keyClicks(bar.prompt, "c")
    assert bar.generate_button.isEnabled()


def test_typing_still_stops_at_our_overall_maximum(qtbot) -> None:
    bar = shown_prompt_bar(qtbot, "img-kling-o1")
    bar.prompt.setPlainText("x" * (MAX_PROMPT_CHARS + 10))
    assert len(bar.text()) == MAX_PROMPT_CHARS
    assert bar.counter.text() == "4,000 / 2,500"
    assert prompt_limit(RequestState(model="img-kling-o1")) == 2500
    assert prompt_limit(RequestState(model="img-gpt-image-1")) == MAX_PROMPT_CHARS
