"""The prompts the user wrote before: what Up/Down and the history menu of the prompt bar walk.

The engine owns the list (the widget only shows the strings it is handed): the prompts of
the user's generations across every session, newest first, plus the prompts submitted this
run, de-duplicated (a prompt used again moves to the front) and bounded, so a library of
10,000 generations keeps at most ``limit`` strings in memory.
"""

from __future__ import annotations

from collections.abc import Iterable

from gui.engine.library import Library

DEFAULT_LIMIT = 500


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
        """Read the prompts of the user's generations (the library's one paged read, the
        same the Library dialog uses) and merge them under this run's; returns the
        entries."""
        records = await self.library.all_generations()
        dated = sorted(
            ((r.created_at, prompt) for r in records if (prompt := normalize_prompt(r.prompt))),
            key=lambda pair: pair[0],
            reverse=True,
        )
        self._loaded = _unique(prompt for _, prompt in dated)[: self.limit]
        self._rebuild()
        return self.entries()

    def _rebuild(self) -> None:
        self._entries = _unique([*self._submitted, *self._loaded])[: self.limit]


def _unique(prompts: Iterable[str]) -> list[str]:
    """``prompts`` in order, each kept at its first (newest) place."""
    return list(dict.fromkeys(prompts))
