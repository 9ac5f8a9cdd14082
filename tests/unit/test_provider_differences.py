"""backend/providers/differences.py: every applied difference names real models and a source."""

from __future__ import annotations

import re

from backend.providers.differences import DIFFERENCES, rows
from backend.providers.doc import differences_section, render
from catalog import MODELS

# A URL, or "owner/repo path @ <40-hex commit>".
SOURCE = re.compile(r"^(https://\S+|[\w.-]+/[\w.-]+ \S+ @ [0-9a-f]{40})$")


def test_every_row_names_known_models_and_a_source() -> None:
    assert DIFFERENCES
    for d in DIFFERENCES:
        assert d.models and set(d.models) <= set(MODELS), d
        assert d.seed and d.provider and d.ours, d
        assert SOURCE.match(d.source), d.source


def test_the_section_is_part_of_docs_providers_md() -> None:
    section = differences_section()
    assert section.startswith("\n## Where we differ from the seed's matrix, and why\n")
    assert section in render()
    table = [line for line in section.splitlines() if line.startswith("| `")]
    assert len(table) == len(rows()) == len(DIFFERENCES)
    assert all(line.count(" | ") == 4 for line in table)  # five cells, no stray pipes
