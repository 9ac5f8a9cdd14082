"""The dependency law of design.md §2, checked on the source with `ast`.

- catalog/, backend/, gui/engine/ never import Qt (PySide6, shiboken6, qasync);
- catalog/ and backend/ never import gui;
- gui/widgets/ never does HTTP or SQL (httpx, requests, sqlite3, ...);
- within gui/, only the composition root gui/app.py imports backend.server / backend.runner
  (the code that starts the embedded backend).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

QT = ("PySide6", "shiboken6", "qasync")
GUI = ("gui",)
IO = (
    "httpx",
    "requests",
    "aiohttp",
    "urllib.request",
    "http.client",
    "sqlite3",
    "aiosqlite",
    "convex",
    "PySide6.QtNetwork",
    "PySide6.QtSql",
)
EMBEDDED_BACKEND = ("backend.server", "backend.runner")
COMPOSITION_ROOTS = {"gui/app.py"}


def imported_modules(source: str, module_path: str) -> set[str]:
    """Every absolute module name a file imports (relative imports resolved).

    `from a import b` yields both `a` and `a.b`, since `b` may be a submodule.
    """
    package = module_path.removesuffix(".py").replace("/", ".").split(".")[:-1]
    if module_path.endswith("__init__.py"):
        package = module_path.removesuffix("/__init__.py").replace("/", ".").split(".")
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                prefix = ".".join([*base, node.module] if node.module else base)
            else:
                prefix = node.module or ""
            found.add(prefix)
            found.update(f"{prefix}.{alias.name}" for alias in node.names)
    return found


def violations(modules: set[str], banned: tuple[str, ...]) -> set[str]:
    return {m for m in modules if any(m == b or m.startswith(b + ".") for b in banned)}


def python_files(*folders: str) -> list[Path]:
    files: list[Path] = []
    for folder in folders:
        files.extend(sorted((ROOT / folder).rglob("*.py")))
    return files


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _imports(path: Path) -> set[str]:
    return imported_modules(path.read_text(encoding="utf-8"), _rel(path))


def test_the_checker_sees_every_import_form() -> None:
    src = (
        "import PySide6.QtCore\nfrom qasync import QEventLoop\nfrom ..widgets import grid\n"
        "from . import tokens\nimport httpx as h\n"
        "def f():\n    from backend import server\n"
    )
    found = imported_modules(src, "gui/engine/x.py")
    assert violations(found, QT) == {"PySide6.QtCore", "qasync", "qasync.QEventLoop"}
    assert "gui.widgets.grid" in found and "gui.engine.tokens" in found
    assert violations(found, EMBEDDED_BACKEND) == {"backend.server"}
    assert violations(found, IO) == {"httpx"}
    assert violations({"gui_helpers", "guinea"}, GUI) == set()


@pytest.mark.parametrize("path", python_files("catalog", "backend", "gui/engine"), ids=_rel)
def test_no_qt_outside_widgets(path: Path) -> None:
    assert violations(_imports(path), QT) == set(), f"{_rel(path)} imports Qt"


@pytest.mark.parametrize("path", python_files("catalog", "backend"), ids=_rel)
def test_catalog_and_backend_never_import_gui(path: Path) -> None:
    assert violations(_imports(path), GUI) == set(), f"{_rel(path)} imports gui"


@pytest.mark.parametrize("path", python_files("gui/widgets"), ids=_rel)
def test_widgets_do_no_http_or_sql(path: Path) -> None:
    assert violations(_imports(path), IO) == set(), f"{_rel(path)} does HTTP or SQL"


@pytest.mark.parametrize("path", python_files("gui"), ids=_rel)
def test_only_the_composition_root_starts_the_embedded_backend(path: Path) -> None:
    if _rel(path) in COMPOSITION_ROOTS:
        return
    bad = violations(_imports(path), EMBEDDED_BACKEND)
    assert bad == set(), f"{_rel(path)} imports {bad}; only gui/app.py may (use gui.app's helper)"


def test_catalog_imports_nothing_of_ours_but_itself() -> None:
    ours = ("backend", "gui", "bench", "tests")
    for path in python_files("catalog"):
        assert violations(_imports(path), ours) == set(), _rel(path)
