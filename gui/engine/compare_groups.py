"""Which generations were started together as one comparison, kept across restarts.

The server knows nothing of comparisons: each model's generation is an ordinary one (its
own journaled run, hold and row). The grouping is the client's, kept in a small JSON file in
the data folder. A member is known by the engine's local id at once and by its Convex row id
as soon as an event names it, so the group is found again when a session is reloaded after
a restart (the rows then come from the backend, keyed by their row ids).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gui.engine.events import (
    EngineEvent,
    EventBus,
    GenerationCancelled,
    GenerationCompleted,
    GenerationFailed,
    GenerationProgress,
)

log = logging.getLogger(__name__)
KEEP_GROUPS = 500  # the newest groups kept; older ones' rows show as ordinary generations


@dataclass(frozen=True)
class GroupMark:
    """Where one generation sits in its comparison (position 0 is shown first)."""

    group_id: str
    position: int
    size: int

    @property
    def label(self) -> str:
        return f"Compare {self.position + 1}/{self.size}"


class CompareGroups:
    """The comparison groups, read from and written to ``path``."""

    def __init__(self, path: Path, bus: EventBus | None = None) -> None:
        self.path = Path(path)
        self._groups: dict[str, dict[str, Any]] = self._read()
        self._marks: dict[str, GroupMark] = {}
        self._reindex()
        if bus is not None:
            bus.subscribe(self._on_event)

    def start(self, group_id: str, prompt: str, size: int) -> None:
        self._groups[group_id] = {"prompt": prompt, "size": size, "members": []}
        while len(self._groups) > KEEP_GROUPS:
            del self._groups[next(iter(self._groups))]  # dicts keep insertion order
        self._save()

    def add_member(self, group_id: str, local_id: str, model_id: str, position: int) -> None:
        group = self._groups.get(group_id)
        if group is None:
            return
        group["members"].append({"localId": local_id, "model": model_id, "position": position})
        self._marks[local_id] = GroupMark(group_id, position, int(group["size"]))
        self._save()

    def mark_for(self, *keys: str | None) -> GroupMark | None:
        """The mark of the generation known by any of ``keys`` (local id, row id)."""
        for key in keys:
            if key and key in self._marks:
                return self._marks[key]
        return None

    def members(self, group_id: str) -> list[dict[str, Any]]:
        group = self._groups.get(group_id)
        return [dict(m) for m in group["members"]] if group else []

    def _on_event(self, event: EngineEvent) -> None:
        """Learn a member's row id the first time an event names it."""
        if not isinstance(
            event,
            GenerationProgress | GenerationCompleted | GenerationFailed | GenerationCancelled,
        ):
            return
        mark = self._marks.get(event.local_id)
        if mark is None or not event.generation_id or event.generation_id in self._marks:
            return
        for member in self._groups.get(mark.group_id, {}).get("members", []):
            if member.get("localId") == event.local_id:
                member["generationId"] = event.generation_id
        self._marks[event.generation_id] = mark
        self._save()

    def _reindex(self) -> None:
        self._marks.clear()
        for group_id, group in self._groups.items():
            members = [m for m in group.get("members", []) if isinstance(m, dict)]
            size = _whole(group.get("size"), len(members))
            for member in members:
                mark = GroupMark(group_id, _whole(member.get("position"), 0), size)
                for key in (member.get("localId"), member.get("generationId")):
                    if isinstance(key, str) and key:
                        self._marks[key] = mark

    def _read(self) -> dict[str, dict[str, Any]]:
        """The stored groups; a missing or damaged file is an empty start, never a crash."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable comparison groups %s: %s", self.path, exc)
            return {}
        groups = data.get("groups") if isinstance(data, dict) else None
        if not isinstance(groups, dict):
            return {}
        return {
            str(k): g
            for k, g in groups.items()
            if isinstance(g, dict) and isinstance(g.get("members"), list)
        }

    def _save(self) -> None:
        """Written whole to a temporary file and moved into place: a crash mid-write leaves
        the previous file, never half of one."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".compare-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"groups": self._groups}, out)
            os.replace(tmp, self.path)
        except OSError as exc:  # grouping is a convenience: losing it never stops a run
            log.warning("could not save comparison groups to %s: %s", self.path, exc)


def _whole(value: object, default: int) -> int:
    """A stored count or position; anything but a whole number reads as ``default``."""
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default
    )
