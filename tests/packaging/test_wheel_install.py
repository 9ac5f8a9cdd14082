"""The wheel is complete: built from a copy of the project, installed into a fresh virtual
environment, run from outside the source tree, its logos read from where it was installed.

The fresh environment sees this interpreter's installed dependencies through a .pth file
(so PySide6 & co. are not downloaded again), but not the project itself: a .pth file's own
paths are not site folders, so an editable install of the project there is not activated,
and the test proves every file imported comes from the new environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog import MODELS

ROOT = Path(__file__).resolve().parents[2]
# Not project files: never copied into the build.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
)


def _run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout}\n{result.stderr}"
    return result  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip wheel .` on a clean copy (the checkout's build/ may hold stale files)."""
    src = tmp_path_factory.mktemp("src") / "project"
    shutil.copytree(ROOT, src, ignore=_NOT_SOURCE)
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)])
    (built,) = dist.glob("imagegen_desktop-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with the wheel installed; yields its bin folder."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    # This interpreter's dependencies, after the venv's own site-packages on sys.path.
    parents = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    Path(site.stdout.strip(), "_test_parent_deps.pth").write_text("\n".join(sorted(parents)))
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)])
    yield env_dir / "bin"


def _from_outside(tmp: Path, *cmd: str) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` in ``tmp`` (outside the source tree) with no PYTHONPATH and a home and data
    folder of its own: only the install is reachable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "IMAGEGEN_"))}
    env.update(QT_QPA_PLATFORM="offscreen", HOME=str(tmp), XDG_DATA_HOME=str(tmp / "share"))
    return _run(list(cmd), cwd=tmp, env=env)


def test_the_wheel_carries_the_logos_and_leaves_out_bench_and_tests(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"backend", "catalog", "gui", "resources", "imagegen_desktop-0.1.0.dist-info"}
    for logo in {m.logo for m in MODELS.values()}:
        assert f"resources/logos/{logo}" in names
    assert "resources/logos/LICENSE" in names
    assert "resources/app/imagegen.svg" in names


def test_imagegen_models_runs_from_the_install(installed: Path, tmp_path: Path) -> None:
    result = _from_outside(tmp_path, str(installed / "imagegen"), "models", "--json")
    ids = {m["id"] for m in json.loads(result.stdout)["models"]}
    assert ids >= {m.id for m in MODELS.values() if m.in_picker}


def test_every_import_comes_from_the_install(installed: Path, tmp_path: Path) -> None:
    probe = (
        "import json, gui, resources, catalog, backend;"
        "print(json.dumps([m.__file__ for m in (gui, resources, catalog, backend)]"
        " + [str(resources.logo('google.svg'))]))"
    )
    result = _from_outside(tmp_path, str(installed / "python"), "-c", probe)
    env_root = installed.parent.resolve()
    for path in json.loads(result.stdout):
        assert Path(path).resolve().is_relative_to(env_root), path


def test_the_window_opens_and_renders_every_logo_from_the_install(
    installed: Path, tmp_path: Path
) -> None:
    result = _from_outside(tmp_path, str(installed / "imagegen"), "--smoke-test")
    assert "smoke test passed" in result.stdout
