"""Comparison groups: kept in a file, found again by row id after a restart."""

from __future__ import annotations

import json
from pathlib import Path

from gui.engine.compare_groups import KEEP_GROUPS, CompareGroups, GroupMark
from gui.engine.events import EventBus, GenerationCompleted, GenerationProgress, Phase


def test_members_are_marked_and_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "compare_groups.json"
    bus = EventBus()
    groups = CompareGroups(path, bus)
    groups.start("g1", "a red fox", 2)
    groups.add_member("g1", "local-a", "img-nano-banana", 0)
    groups.add_member("g1", "local-b", "img-reve", 1)
    assert groups.mark_for("local-b") == GroupMark("g1", 1, 2)
    assert groups.mark_for(None, "unknown") is None
    # The row ids arrive with the engine's events.
    bus.publish(GenerationProgress("local-a", Phase.RUNNING, generation_id="row-a"))
    bus.publish(GenerationCompleted("local-b", "row-b", "s1", ("http://x/1.png",)))

    again = CompareGroups(path)  # a new start: only the file is left
    assert again.mark_for(None, "row-a") == GroupMark("g1", 0, 2)
    assert again.mark_for(None, "row-b").label == "Compare 2/2"  # type: ignore[union-attr]
    assert [m["generationId"] for m in again.members("g1")] == ["row-a", "row-b"]


def test_events_about_other_generations_change_nothing(tmp_path: Path) -> None:
    path = tmp_path / "groups.json"
    bus = EventBus()
    groups = CompareGroups(path, bus)
    bus.publish(GenerationProgress("stranger", Phase.RUNNING, generation_id="row-x"))
    assert groups.mark_for("row-x") is None
    assert not path.exists()


def test_a_damaged_file_is_an_empty_start(tmp_path: Path) -> None:
    path = tmp_path / "groups.json"
    path.write_text("{not json", encoding="utf-8")
    assert CompareGroups(path).mark_for("anything") is None
    path.write_text(
        json.dumps({"groups": {"g": {"size": "two", "members": [{"localId": 5}, "x"]}}}),
        encoding="utf-8",
    )
    groups = CompareGroups(path)  # wrong types inside are skipped, not raised
    assert groups.mark_for("5") is None
    groups.start("g2", "p", 2)
    groups.add_member("g2", "l1", "img-reve", 0)
    assert CompareGroups(path).mark_for("l1") == GroupMark("g2", 0, 2)


def test_only_the_newest_groups_are_kept(tmp_path: Path) -> None:
    groups = CompareGroups(tmp_path / "groups.json")
    for n in range(KEEP_GROUPS + 3):
        groups.start(f"g{n}", "p", 2)
    stored = json.loads((tmp_path / "groups.json").read_text(encoding="utf-8"))["groups"]
    assert len(stored) == KEEP_GROUPS
    assert "g0" not in stored and f"g{KEEP_GROUPS + 2}" in stored
