"""The generations model (keyed by stable ids), the delegate's states and the thumbnails."""

from __future__ import annotations

import dataclasses
import io

from PIL import Image
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QMouseEvent
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem

from catalog import Options
from gui.engine.convex_types import SessionGeneration
from gui.engine.events import (
    GenerationCancelled,
    GenerationCompleted,
    GenerationFailed,
    GenerationProgress,
    GenerationStarted,
    Phase,
)
from gui.widgets.generation_delegate import card_layout
from gui.widgets.generation_model import GenerationItem, GenerationListModel, StatusRole
from gui.widgets.grid_view import GenerationGridView
from gui.widgets.thumbnail_cache import ThumbnailCache


def _png(color: str, size: tuple[int, int] = (300, 300)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def _started(local_id: str, n: int = 2, ratio: str = "1:1") -> GenerationStarted:
    return GenerationStarted(
        local_id, f"prompt {local_id}", Options("img-nano-banana", ratio, n), None
    )


def test_rows_are_inserted_newest_first_and_updated_by_id() -> None:
    model = GenerationListModel()
    model.add_started(_started("a"))
    model.add_started(_started("b"))
    assert [i.key for i in model.items()] == ["b", "a"]
    model.apply_progress(GenerationProgress("a", Phase.QUEUED, queue_position=4))
    assert model.get("a").detail == "In queue #4"
    model.apply_progress(
        GenerationProgress("a", Phase.UPLOADING, "Uploading 2/3", generation_id="g1")
    )
    assert model.get("g1") is model.get("a") and model.get("a").detail == "Uploading 2/3"
    model.apply_completed(GenerationCompleted("a", "g1", "s1", ("u1", "u2")))
    assert model.data(model.index(1), StatusRole) == "done"
    model.apply_failed(GenerationFailed("b", "The provider said no."))
    assert model.get("b").status == "error" and model.get("b").error == "The provider said no."
    assert [(i.key, n, u) for i, n, u in model.all_images()] == [("a", 0, "u1"), ("a", 1, "u2")]


def test_session_records_and_resumed_jobs_share_rows() -> None:
    model = GenerationListModel()
    records = [
        {
            "_id": "g1",
            "prompt": "old",
            "model": "img-reve",
            "images": [{"url": "x"}],
            "isLoading": False,
            "createdAt": 1_700_000_000_000,
        },
        {
            "_id": "g2",
            "prompt": "running",
            "model": "img-reve",
            "images": [],
            "isLoading": True,
            "createdAt": 1_700_000_100_000,
        },
    ]
    model.set_records([SessionGeneration.model_validate(r) for r in records])
    assert [i.key for i in model.items()] == ["g2", "g1"]
    assert model.get("g2").loading and model.get("g1").images == ["x"]
    # A job resumed before the window subscribed reports by local id + generation id.
    model.apply_completed(GenerationCompleted("L9", "g2", "s1", ("y",)))
    assert model.rowCount() == 2
    assert model.get("L9") is model.get("g2") and model.get("g2").images == ["y"]


def _view(qtbot, cache: ThumbnailCache) -> tuple[GenerationGridView, GenerationListModel]:
    model = GenerationListModel()
    view = GenerationGridView(model, cache)
    qtbot.addWidget(view)
    view.resize(1000, 900)
    view.show()
    return view, model


def test_delegate_paints_skeleton_error_and_image_states(qtbot) -> None:
    cache = ThumbnailCache()
    cache.fetch = lambda url, edge: cache.deliver(url, edge, _png("#00ff00"))
    view, model = _view(qtbot, cache)
    assert view.empty.isVisible()
    model.add_started(_started("done", 1))
    model.apply_completed(GenerationCompleted("done", "g", None, ("http://x/green",)))
    model.add_started(_started("fail", 1))
    model.apply_failed(GenerationFailed("fail", "Nope."))
    model.add_started(_started("load", 2))
    model.apply_progress(GenerationProgress("load", Phase.RUNNING))
    assert not view.empty.isVisible()
    assert view._timer.isActive()  # shimmer animates while something loads
    qtbot.waitUntil(lambda: cache.peek("http://x/green") is not None)
    image = view.viewport().grab().toImage()
    rows = {model.items()[r].key: view.visualRect(model.index(r)) for r in range(3)}
    done_tile = card_layout(rows["done"], model.get("done")).tiles[0]
    assert image.pixelColor(done_tile.center()) == QColor("#00ff00")
    error = card_layout(rows["fail"], model.get("fail"))
    assert error.error_panel is not None and error.retry is not None
    assert image.pixelColor(error.error_panel.topLeft() + QPoint(6, 40)).red() > 40
    loading_tile = card_layout(rows["load"], model.get("load")).tiles[1]
    assert image.pixelColor(loading_tile.center()) != QColor("#00ff00")


def test_clicks_hit_actions_and_images(qtbot) -> None:
    cache = ThumbnailCache()
    view, model = _view(qtbot, cache)
    model.add_started(_started("a", 2))
    model.apply_completed(GenerationCompleted("a", "g", None, ("u1", "u2")))
    rect = view.visualRect(model.index(0))
    layout = card_layout(rect, model.get("a"), view.delegate._fm_width(_opt(view)))
    left = Qt.MouseButton.LeftButton
    with qtbot.waitSignal(view.delegate.imageClicked) as clicked:
        qtbot.mouseClick(view.viewport(), left, pos=layout.tiles[1].center())
    assert clicked.args == ["a", 1]
    with qtbot.waitSignal(view.delegate.actionTriggered) as action:
        qtbot.mouseClick(view.viewport(), left, pos=layout.buttons["reuse"].center())
    assert action.args == ["a", "reuse"]


def _opt(view: GenerationGridView) -> QStyleOptionViewItem:
    option = QStyleOptionViewItem()
    view.initViewItemOption(option)
    return option


def test_thumbnail_cache_is_a_byte_bounded_lru_with_disk(qtbot, tmp_path) -> None:
    cache = ThumbnailCache(tmp_path, budget_bytes=300 * 300 * 4 * 2)
    fetched: list[str] = []

    def fetch(url: str, edge: int) -> None:
        fetched.append(url)
        # An original (a deployment without variants): worth a scaled copy on disk.
        cache.deliver(url, edge, _png("red", (1024, 1024)))

    cache.fetch = fetch
    for name in ("a", "b", "c"):
        assert cache.get(f"http://x/{name}", 300) is None
        qtbot.waitUntil(lambda n=name: cache.peek(f"http://x/{n}") is not None)
    assert cache.used_bytes <= 300 * 300 * 4 * 2
    assert cache.peek("http://x/a") is None  # evicted, least recently used
    assert cache.get("http://x/a", 300) is None
    qtbot.waitUntil(lambda: cache.peek("http://x/a") is not None)
    assert fetched == ["http://x/a", "http://x/b", "http://x/c"]  # the disk copy served it


def test_failed_fetch_marks_the_url(qtbot) -> None:
    cache = ThumbnailCache()
    cache.fetch = lambda url, edge: cache.deliver(url, edge, None)
    with qtbot.waitSignal(cache.failed):
        cache.get("http://x/broken")
    assert cache.is_failed("http://x/broken")
    assert cache.get("http://x/broken") is None


def test_loading_cards_offer_cancel_and_cancelled_cards_retry(qtbot) -> None:
    view, model = _view(qtbot, ThumbnailCache())
    model.add_started(_started("run", 1))
    fm = view.delegate._fm_width(_opt(view))
    layout = card_layout(view.visualRect(model.index(0)), model.get("run"), fm)
    left = Qt.MouseButton.LeftButton
    with qtbot.waitSignal(view.delegate.actionTriggered) as action:
        qtbot.mouseClick(view.viewport(), left, pos=layout.buttons["cancel"].center())
    assert action.args == ["run", "cancel"]
    model.apply_cancelled(GenerationCancelled("run", "Cancelled."))
    item = model.get("run")
    assert item.status == "cancelled" and not model.has_loading()
    layout = card_layout(view.visualRect(model.index(0)), item, fm)
    assert "cancel" not in layout.buttons and layout.retry is not None
    with qtbot.waitSignal(view.delegate.actionTriggered) as action:
        qtbot.mouseClick(view.viewport(), left, pos=layout.retry.center())
    assert action.args == ["run", "retry"]
    # A loading row loaded from a session (no local id) cannot be cancelled from here.
    loading = {"_id": "g1", "prompt": "p", "model": "img-reve", "isLoading": True}
    model.set_records([SessionGeneration.model_validate(loading)])
    assert "cancel" not in card_layout(view.visualRect(model.index(0)), model.get("g1")).buttons


def test_image_tiles_have_a_heart_that_toggles_favourites(qtbot) -> None:
    cache = ThumbnailCache()
    cache.fetch = lambda url, edge: cache.deliver(url, edge, _png("#2040ff"))
    view, model = _view(qtbot, cache)
    model.add_started(_started("a", 2))
    model.apply_completed(GenerationCompleted("a", "g", None, ("u1", "u2")))
    layout = card_layout(view.visualRect(model.index(0)), model.get("a"))
    assert len(layout.hearts) == 2
    with qtbot.waitSignal(view.delegate.favoriteToggled) as toggled:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=layout.hearts[1].center())
    assert toggled.args == ["a", 1]
    qtbot.waitUntil(lambda: cache.peek("u1") is not None)
    heart = layout.hearts[0]
    before = view.viewport().grab().toImage().pixelColor(heart.center())
    model.set_favorite("a", "u1", True)
    assert model.get("a").favorites == {"u1"}
    after = view.viewport().grab().toImage().pixelColor(heart.center())
    assert after != before and after.red() > after.blue()  # a filled (danger) heart
    # The pointer becomes a hand over the heart.
    move = QMouseEvent(
        QEvent.Type.MouseMove,
        QPointF(heart.center()),
        QPointF(view.viewport().mapToGlobal(heart.center())),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(view.viewport(), move)
    assert view.viewport().cursor().shape() == Qt.CursorShape.PointingHandCursor


def test_a_session_reloaded_mid_flight_shows_a_failed_run_once() -> None:
    """Reloading the session while a run is in flight shows its Convex row next to the live
    tile (which does not know its row id yet); the failure names the row, so one stays."""
    model = GenerationListModel()
    model.add_started(_started("a", n=1))
    loading_row = {"_id": "g1", "prompt": "prompt a", "model": "img-nano-banana", "isLoading": True}
    model.set_records([SessionGeneration.model_validate(loading_row)], keep_local=model.items())
    assert model.rowCount() == 2
    model.apply_failed(GenerationFailed("a", "The provider failed.", generation_id="g1"))
    assert [(i.local_id, i.status) for i in model.items()] == [("a", "error")]
    model.add_started(_started("b", n=1))
    second = SessionGeneration.model_validate({**loading_row, "_id": "g2", "prompt": "prompt b"})
    model.set_records([second], model.items()[:1])
    model.apply_cancelled(GenerationCancelled("b", generation_id="g2"))
    assert [(i.local_id, i.status) for i in model.items()] == [("b", "cancelled")]


def test_a_tile_carries_its_options_whole_from_event_and_record() -> None:
    """The tile keeps the request's Options (reuse and retry restore every option), and a
    record loaded from Convex arrives typed, its time already in seconds."""
    model = GenerationListModel()
    options = Options("img-nano-banana-pro", "3:4", 2, "4K", None)
    model.add_started(GenerationStarted("a", "a fox", options, None))
    assert model.get("a").options is options
    assert not {f.name for f in dataclasses.fields(GenerationItem)} & {"model", "num_images"}
    doc = {"_id": "g1", "prompt": "p", "model": "img-reve", "numImages": 3, "createdAt": 2e12}
    model.set_records([SessionGeneration.model_validate(doc)])
    item = model.get("g1")
    assert item.options == Options("img-reve", None, 3) and item.created_at == 2e9
