"""The dependency law of design.md §2, checked on the source with `ast`.

- catalog/, backend/, gui/engine/ never import Qt (PySide6, shiboken6, qasync);
- catalog/ and backend/ never import gui;
- gui/widgets/ never does HTTP or SQL (httpx, requests, sqlite3, ...);
- within gui/, only the composition root gui/app.py imports backend.server / backend.runner
  (the code that starts the embedded backend);
- no module of catalog/, backend/ or gui/ imports a leading-underscore name from another
  module, nor reaches into a private attribute of an object it was handed (``engine._runs``):
  a module uses another's public doors (tests may reach further, to inject and inspect);
- widget constructors are typed: every parameter annotated, none ``Any`` (a widget takes
  typed records and a typed engine session, not duck types).
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


# -- public doors ------------------------------------------------------------------------------
PRODUCTION = ("catalog", "backend", "gui")
# Privates of third-party objects, with why: fal-client exposes its authenticated httpx
# client only as ``AsyncClient._client`` (backend/providers/fal.py closes and reuses it).
THIRD_PARTY_PRIVATES = {("backend/providers/fal.py", "_client")}


def private_imports(source: str) -> set[str]:
    """``from m import _name`` (and ``import m._name``): another module's private name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            found.update(f"{node.module}.{a.name}" for a in node.names if _private(a.name))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if any(map(_private, a.name.split("."))))
    return found


def foreign_private_attributes(source: str) -> set[str]:
    """``x._name`` where ``x`` is not ``self`` or ``cls``: reaching into another object's
    private state (``engine._launch(run)``) instead of asking it through a public door."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                found.add(ast.unparse(node))
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_the_private_name_checkers_see_what_they_look_for() -> None:
    src = (
        "from gui.engine.tokens import _CachedToken, CachedToken\n"
        "from __future__ import annotations\nimport a._b\nfrom x import __version__\n"
        "def f(engine):\n    engine._launch(1)\n    self._ok()\n    cls._ok\n"
        "    self._cache._lock\n    type(x).__name__\n"
    )
    assert private_imports(src) == {"gui.engine.tokens._CachedToken", "a._b"}
    assert foreign_private_attributes(src) == {"engine._launch", "self._cache._lock"}


@pytest.mark.parametrize("path", python_files(*PRODUCTION), ids=_rel)
def test_no_module_imports_another_modules_private_name(path: Path) -> None:
    bad = private_imports(path.read_text(encoding="utf-8"))
    assert bad == set(), f"{_rel(path)} imports private names {bad}: make them public"


@pytest.mark.parametrize("path", python_files(*PRODUCTION), ids=_rel)
def test_no_module_reaches_into_another_objects_private_state(path: Path) -> None:
    found = foreign_private_attributes(path.read_text(encoding="utf-8"))
    allowed = {attr for where, attr in THIRD_PARTY_PRIVATES if where == _rel(path)}
    bad = {a for a in found if a.rsplit(".", 1)[-1] not in allowed}
    assert bad == set(), f"{_rel(path)} uses another object's private members {bad}"


# -- typed widgets -----------------------------------------------------------------------------
def untyped_constructor_parameters(source: str) -> dict[str, list[str]]:
    """Per class, the ``__init__`` parameters (but ``self``) without an annotation or with
    ``Any`` anywhere in it."""
    found: dict[str, list[str]] = {}
    for cls in ast.walk(ast.parse(source)):
        if not isinstance(cls, ast.ClassDef):
            continue
        for init in cls.body:
            if not (isinstance(init, ast.FunctionDef) and init.name == "__init__"):
                continue
            a = init.args
            params = [*a.posonlyargs, *a.args[1:], *a.kwonlyargs]
            params += [p for p in (a.vararg, a.kwarg) if p is not None]
            bad = [p.arg for p in params if p.annotation is None or _mentions_any(p.annotation)]
            if bad:
                found[cls.name] = bad
    return found


def _mentions_any(annotation: ast.expr) -> bool:
    for node in ast.walk(annotation):
        if isinstance(node, ast.Name) and node.id == "Any":
            return True
        if isinstance(node, ast.Attribute) and node.attr == "Any":
            return True
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            # A string annotation ("Any", "list[Any]") is parsed and checked the same way.
            try:
                if _mentions_any(ast.parse(node.value, mode="eval").body):
                    return True
            except SyntaxError:
                continue
    return False


def test_the_constructor_checker_sees_any_and_missing_annotations() -> None:
    src = (
        "class A:\n    def __init__(self, a: Any, b: int, c, *, d: 'list[Any]', **kw: str):\n"
        "        pass\n"
        "class B:\n    def __init__(self, s: typing.Any) -> None: ...\n"
        "class C:\n    def __init__(self, w: QWidget | None = None) -> None: ...\n"
    )
    assert untyped_constructor_parameters(src) == {"A": ["a", "c", "d"], "B": ["s"]}


@pytest.mark.parametrize("path", python_files("gui/widgets"), ids=_rel)
def test_widget_constructors_take_typed_parameters(path: Path) -> None:
    bad = untyped_constructor_parameters(path.read_text(encoding="utf-8"))
    assert bad == {}, f"{_rel(path)}: constructor parameters untyped or Any: {bad}"


# -- one owner of the credit balance -----------------------------------------------------------
BALANCE_OWNER = "gui/engine/credits.py"


def constructs(source: str, name: str) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name
        for n in ast.walk(ast.parse(source))
    )


def test_only_the_balance_owner_publishes_the_credit_balance() -> None:
    """One generation fetched the balance twice (the window's library and the engine): now
    gui/engine/credits.py alone reads and publishes it, and everyone else asks it."""
    publishers = {
        _rel(p) for p in python_files("gui") if constructs(p.read_text("utf-8"), "CreditsChanged")
    }
    assert publishers == {BALANCE_OWNER}


# -- one composition root; no test hooks, dead code or model ids in production (issue 16) -----
COMPOSITION_ROOT = ("gui.app",)


@pytest.mark.parametrize("path", python_files("gui/widgets", "gui/engine"), ids=_rel)
def test_nothing_under_widgets_or_engine_imports_the_composition_root(path: Path) -> None:
    """gui/app.py assembles the program and hands the window and `imagegen generate` what they
    run on; importing it back from below splits the composition root again."""
    bad = violations(_imports(path), COMPOSITION_ROOT)
    assert bad == set(), f"{_rel(path)} imports {bad}: take what gui/app.py hands in instead"


def hooks_for_tests(source: str) -> set[str]:
    """Test switches in production code: an IMAGEGEN_TEST_* variable, a SIGKILL."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.startswith("IMAGEGEN_TEST_"):
                found.add(node.value)
        elif isinstance(node, ast.Attribute) and node.attr == "SIGKILL":
            found.add(ast.unparse(node))
    return found


def test_the_hook_checker_sees_env_switches_and_kills() -> None:
    src = 'import os, signal\nif os.environ.get("IMAGEGEN_TEST_KILL_AT"):\n'
    src += "    os.kill(os.getpid(), signal.SIGKILL)\nos.kill(pid, 0)\n"
    assert hooks_for_tests(src) == {"IMAGEGEN_TEST_KILL_AT", "signal.SIGKILL"}


@pytest.mark.parametrize("path", python_files(*PRODUCTION), ids=_rel)
def test_production_code_carries_no_test_hooks(path: Path) -> None:
    """Crash tests kill through a seam they own (a journal observer, tests/integration/
    engine_kill_driver.py), never through a switch the shipped engine reads."""
    bad = hooks_for_tests(path.read_text(encoding="utf-8"))
    assert bad == set(), f"{_rel(path)} carries test hooks {bad}"


@pytest.mark.parametrize("path", python_files("gui"), ids=_rel)
def test_the_client_names_no_model_id(path: Path) -> None:
    """Model ids come from the catalog (its default, its edit-variant pairing), never from a
    literal in the client that goes stale when the catalog changes."""
    from catalog import MODELS

    literals = {
        n.value
        for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }
    assert literals & set(MODELS) == set(), f"{_rel(path)} hard-codes model ids"


# The modules issue 16 cleaned of dead code (and those the composition root hands things to).
# Scoped on purpose: elsewhere, public helpers only tests call are still allowed.
NO_DEAD_CODE = (
    "gui/app.py",
    "gui/engine/cli_generate.py",
    "gui/engine/config.py",
    "gui/engine/journal.py",
    "gui/engine/library.py",
    "gui/engine/resolve.py",
    "gui/engine/settings.py",
    "gui/widgets/launch.py",
    "gui/widgets/prompt_bar.py",
    "gui/widgets/settings_dialog.py",
    "gui/widgets/settings_flow.py",
    "gui/widgets/theme.py",
)
# Called by a framework, not by our code: pydantic-settings' hooks (Qt's are camelCase).
FRAMEWORK_HOOKS = {"settings_customise_sources", "get_field_value"}


def referenced_names(source: str) -> set[str]:
    """Every name a module uses: names, attributes, imported names and identifier strings
    (a Qt slot or ``getattr`` names a method by a string)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.alias):
            found.add(node.name.rsplit(".", 1)[-1])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.update(w for w in node.value.split() if w.isidentifier())
    return found


def public_definitions(source: str) -> set[str]:
    return {
        n.name
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and not n.name.startswith("_")
        and not (n.name[0].islower() and n.name != n.name.lower())  # Qt's: paintEvent
    } - FRAMEWORK_HOOKS


def test_the_dead_code_checker_sees_unused_definitions() -> None:
    src = "def used():\n    pass\ndef unused():\n    pass\nclass Unused:\n"
    src += "    def paintEvent(self): ...\nused()\n"
    assert public_definitions(src) - referenced_names(src) == {"unused", "Unused"}


def test_no_dead_code_in_the_cleaned_modules() -> None:
    """Production code (not tests) uses every public function and class these define."""
    used: set[str] = set()
    for path in python_files("catalog", "backend", "gui", "bench", "scripts"):
        used |= referenced_names(path.read_text(encoding="utf-8"))
    dead = {
        f"{module}: {name}"
        for module in NO_DEAD_CODE
        for name in public_definitions((ROOT / module).read_text(encoding="utf-8"))
        if name not in used
    }
    assert dead == set(), f"defined but used by no production code: {sorted(dead)}"
