"""Drag-out files (gui.engine.exports) and an edit's references (gui.engine.edit_references):
real files, a real disk cache, a real SQLite journal and store; no network."""

from __future__ import annotations

import asyncio
import io
import os
import time
from pathlib import Path

from PIL import Image

from gui.engine.edit_references import EditReferences
from gui.engine.events import EventBus, GenerationCompleted
from gui.engine.exports import ImageExporter, export_file_name
from gui.engine.images import ImageFetcher
from gui.engine.journal import Journal

URL = "http://127.0.0.1:9/files/generations/2026/abc.jpg"


def test_file_names_come_from_the_prompt_in_safe_characters() -> None:
    assert (
        export_file_name("A red fox / in the snow: *dusk*", URL) == "a-red-fox-in-the-snow-dusk.jpg"
    )
    assert export_file_name("../../etc/passwd", "http://h/x.png", 3) == "etc-passwd-3.png"
    assert export_file_name("日本の猫 ✨", "http://h/x") == "image.png"  # nothing safe left
    long = export_file_name("word " * 40, "http://h/x.webp")
    assert long.endswith(".webp") and len(long) <= 60 + len(".webp")
    assert not long.removesuffix(".webp").endswith("-")  # cut at a word boundary
    assert export_file_name("x" * 200, "http://h/x.png") == "x" * 60 + ".png"


def _png_bytes(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "orange").save(out, "PNG")
    return out.getvalue()


def test_a_cached_original_is_copied_at_once_under_its_prompt_name(tmp_path: Path) -> None:
    fetcher = ImageFetcher(tmp_path / "cache")
    exporter = ImageExporter(fetcher, tmp_path / "out")
    url = "http://127.0.0.1:9/files/generations/2026/fox.png"
    other = "http://127.0.0.1:9/files/generations/2026/other.png"
    target = exporter.target(url, "a fox")
    assert not exporter.export_cached(url, target)  # not downloaded yet: nothing written
    data = _png_bytes((1536, 1024))
    fetcher.originals.add_bytes(url, data)
    assert exporter.export_cached(url, target)
    assert target.name == "a-fox.png" and target.read_bytes() == data
    # Two images of one prompt never overwrite each other.
    assert exporter.target(other, "a fox") != target
    assert exporter.target(other, "a fox").name == "a-fox.png"
    # export() finds the file already written and fetches nothing.
    assert asyncio.run(exporter.export(url, target)) == target


def test_old_drag_out_files_are_pruned(tmp_path: Path) -> None:
    exporter = ImageExporter(ImageFetcher(tmp_path / "cache"), tmp_path / "out")
    old = exporter.target("http://h/old.png", "old")
    new = exporter.target("http://h/new.png", "new")
    for path in (old, new):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"x")
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(old.parent, (day_ago, day_ago))
    assert exporter.prune() == 1
    assert not old.exists() and new.exists()


def test_a_completed_edit_keeps_its_references_across_restarts(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    refs = EditReferences(tmp_path / "refs.sqlite3")
    bus = EventBus()
    refs.follow(bus.subscribe, journal)
    upload = "http://127.0.0.1:9/files/uploads/ref.jpg"
    for local_id, body in (
        ("edit-1", {"model": "m", "attachmentImages": [{"url": upload}]}),
        ("plain-1", {"model": "m"}),
    ):
        journal.create(local_id, {"prompt": "p"})
        journal.end(local_id, "uploaded", body=body)
        journal.finish(local_id, "completed")
    bus.publish(GenerationCompleted("edit-1", "gen-1", "s", ("http://h/out.png",)))
    bus.publish(GenerationCompleted("plain-1", "gen-2", "s", ("http://h/out2.png",)))
    assert refs.lookup(["edit-1", "gen-1", "plain-1", "gen-2"]) == {
        "edit-1": (upload,),
        "gen-1": (upload,),
    }
    refs.close()
    journal.close()
    again = EditReferences(tmp_path / "refs.sqlite3")
    assert again.lookup(["gen-1"]) == {"gen-1": (upload,)}
    assert again.lookup([]) == {}
    again.close()
