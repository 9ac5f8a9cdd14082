"""The prompts the user wrote before: what Up/Down and the history menu of the prompt bar walk.

The engine owns the list (the widget only shows the strings it is handed): the prompts of
the user's generations across every session, newest first, plus the prompts submitted this
run, de-duplicated (a prompt used again moves to the front) and bounded, so a library of
10,000 generations keeps at most ``limit`` strings in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from gui.engine.library import Library

DEFAULT_LIMIT = 500
# Sessions read at once while loading: enough to overlap round trips, few enough not to
# crowd out the window's own queries on a slow connection.
LOAD_CONCURRENCY = 6


def normalize_prompt(prompt: str) -> str:
    """The prompt as remembered: without the blank lines and spaces around it."""
    return prompt.strip()


def matches(prompt: str, query: str) -> bool:
    """Whether ``prompt`` contains every word of ``query`` (any case, any order): the
    history menu's filter, so "fox red" finds "a red fox"."""
    text = prompt.casefold()
    return all(word in text for word in query.casefold().split())


class PromptHistory:
    def __init__(self, library: Library, limit: int = DEFAULT_LIMIT) -> None:
        self.library = library
        self.limit = limit
        self._loaded: list[str] = []  # from the backend, newest first
        self._submitted: list[str] = []  # this run, newest first
        self._entries: list[str] = []

    def entries(self) -> list[str]:
        """Every remembered prompt, newest first, each once, at most ``limit``."""
        return list(self._entries)

    def record(self, prompt: str) -> None:
        """A prompt submitted this run: it becomes the newest entry."""
        prompt = normalize_prompt(prompt)
        if not prompt:
            return
        self._submitted = [prompt, *(p for p in self._submitted if p != prompt)][: self.limit]
        self._rebuild()

    async def load(self) -> list[str]:
        """Read the prompts of the user's generations (sessions most recently updated first)
        and merge them under this run's; returns the entries."""
        sessions = await self.library.sessions()
        dated: list[tuple[float, str]] = []
        seen: set[str] = set()
        for start in range(0, len(sessions), LOAD_CONCURRENCY):
            batch = sessions[start : start + LOAD_CONCURRENCY]
            results = await asyncio.gather(*(self.library.generations(s.id) for s in batch))
            for records in results:
                for record in records:
                    prompt = normalize_prompt(record.prompt)
                    if prompt:
                        dated.append((record.created_at, prompt))
                        seen.add(prompt)
            # Sessions come most recently updated first: once enough distinct prompts are
            # in, older sessions would only add prompts past the bound.
            if len(seen) >= self.limit:
                break
        dated.sort(key=lambda pair: pair[0], reverse=True)
        self._loaded = _unique(prompt for _, prompt in dated)[: self.limit]
        self._rebuild()
        return self.entries()

    def _rebuild(self) -> None:
        self._entries = _unique([*self._submitted, *self._loaded])[: self.limit]


def _unique(prompts: Iterable[str]) -> list[str]:
    """``prompts`` in order, each kept at its first (newest) place."""
    return list(dict.fromkeys(prompts))
