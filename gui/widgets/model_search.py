"""How the model picker's search ranks models: pure functions, no Qt.

A query is compared with each model's label first: an exact label beats a label that starts
with the query, which beats a label whose words the query's words begin (or that contains
the query); then the company, then everything else (description, id). Models of the same
rank keep the catalog's order, so typing a model's full name always puts it first and Enter
picks it ("Nano Banana" before "Nano Banana Pro").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import IntEnum

from catalog.spec import ModelSpec

_WORD_SPLIT = re.compile(r"[\s\-_/()·,]+")


class Rank(IntEnum):
    EXACT = 0  # the label is the query
    PREFIX = 1  # the label starts with the query
    LABEL = 2  # each query word begins a label word, or the label contains the query
    COMPANY = 3  # each query word is in the label or the company
    ANYWHERE = 4  # each query word is somewhere: label, company, description or id


def _normalize(text: str) -> str:
    return " ".join(text.lower().split())


def _words(text: str) -> list[str]:
    """Whole words and, for hyphenated ones, their parts: "gpt-image" -> gpt-image, gpt, image."""
    out: list[str] = []
    for word in text.split():
        out.append(word)
        out.extend(part for part in _WORD_SPLIT.split(word) if part and part != word)
    return out


def match_rank(model: ModelSpec, query: str) -> Rank | None:
    """How well `model` matches `query` (lower is better), or None when it does not match.

    An empty query matches every model equally."""
    q = _normalize(query)
    if not q:
        return Rank.ANYWHERE
    label = _normalize(model.label)
    tokens = q.split()
    if label == q:
        return Rank.EXACT
    if label.startswith(q):
        return Rank.PREFIX
    words = _words(label)
    if q in label or all(any(w.startswith(t) for w in words) for t in tokens):
        return Rank.LABEL
    named = f"{label} {_normalize(model.company)}"
    if all(t in named for t in tokens):
        return Rank.COMPANY
    hay = f"{named} {_normalize(model.description)} {model.id.lower()}"
    if all(t in hay for t in tokens):
        return Rank.ANYWHERE
    return None


def rank_models(models: Iterable[ModelSpec], query: str) -> list[ModelSpec]:
    """The models that match `query`, best first; equal ranks keep their given order."""
    ranked = [
        (rank, i, m) for i, m in enumerate(models) if (rank := match_rank(m, query)) is not None
    ]
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [m for _, _, m in ranked]
