"""`scripts/bundle`: the standalone folder runs without Python (slow: PyInstaller takes
minutes). The build is cached by the hash of everything that goes into it, so a rerun on
unchanged sources only runs the bundle; CI's fresh machines build it once (~3 minutes)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import platformdirs
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
PyInstaller = pytest.importorskip(
    "PyInstaller", reason="the bundle test needs PyInstaller (pip install -e '.[test]')"
)


def _inputs_digest() -> str:
    """What the bundle is made of: our sources, the build recipe, PyInstaller and Python."""
    digest = hashlib.sha256(f"{sys.version}|{PyInstaller.__version__}".encode())
    files = [ROOT / "pyproject.toml", *(ROOT / "scripts").glob("bundle*")]
    for package in ("catalog", "backend", "gui", "resources"):
        files += sorted(
            p for p in (ROOT / package).rglob("*") if p.is_file() and "__pycache__" not in p.parts
        )
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="module")
def bundle() -> Path:
    """dist/imagegen/ built by scripts/bundle, or the cached one for these very inputs."""
    cache = Path(
        os.environ.get("IMAGEGEN_BUNDLE_CACHE")
        or platformdirs.user_cache_dir("imagegen-desktop-tests", appauthor=False)
    )
    dist = cache / _inputs_digest()
    executable = dist / "imagegen" / "imagegen"
    if not executable.is_file():
        building = cache / f"{dist.name}.building-{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        env = dict(
            os.environ,
            IMAGEGEN_BUNDLE_NO_INSTALL="1",  # the test environment has what it needs
            IMAGEGEN_PYTHON=sys.executable,
            DIST=str(building / "dist"),
            WORK=str(building / "work"),
        )
        result = subprocess.run(
            ["bash", str(ROOT / "scripts" / "bundle")],
            env=env,
            capture_output=True,
            text=True,
            timeout=1700,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        # Renamed into place only when whole: an interrupted build is never reused.
        shutil.rmtree(dist, ignore_errors=True)
        (building / "dist").rename(dist)
        shutil.rmtree(building, ignore_errors=True)
        # One bundle is ~350 MB: keep only the one for the current sources.
        for old in cache.iterdir():
            if old != dist and ".building-" not in old.name:
                shutil.rmtree(old, ignore_errors=True)
    return executable


def _without_python(tmp: Path, *args: str, bundle: Path) -> subprocess.CompletedProcess[str]:
    """Run the bundle from outside the source tree with no Python on PATH or in the env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "IMAGEGEN_"))}
    env.update(
        PATH=str(tmp / "no-programs"),  # nothing to find: no python, no pip
        HOME=str(tmp),
        QT_QPA_PLATFORM="offscreen",
        LANG="C.UTF-8",
    )
    return subprocess.run(
        [str(bundle), *args], env=env, cwd=tmp, capture_output=True, text=True, timeout=300
    )


def test_the_bundle_prints_the_model_matrix(bundle: Path, tmp_path: Path) -> None:
    result = _without_python(tmp_path, "models", bundle=bundle)
    assert result.returncode == 0, result.stderr
    assert "models; cost is credits per image." in result.stdout


def test_the_bundle_opens_the_window_offscreen_and_exits_cleanly(
    bundle: Path, tmp_path: Path
) -> None:
    result = _without_python(tmp_path, "--smoke-test", bundle=bundle)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "smoke test passed" in result.stdout
    assert "Traceback" not in result.stderr


def _processes_started_from(executable: Path) -> list[int]:
    """Live (not zombie) processes whose program is the bundle's executable."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            exe = os.readlink(proc / "exe")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if exe == str(executable) and state != "Z":
            found.append(int(proc.name))
    return found


def test_the_bundle_generates_an_image_with_its_image_workers(bundle: Path, tmp_path: Path) -> None:
    """The embedded backend renders in spawned worker processes; frozen, those start the
    bundle's executable again, which must hand them to multiprocessing, not the CLI."""
    out = tmp_path / "out"
    result = _without_python(
        tmp_path,
        "generate",
        "--model",
        "img-nano-banana",
        "--prompt",
        "a lighthouse from the bundle",
        "--wait",
        "--json",
        "--out",
        str(out),
        bundle=bundle,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"status": "completed"' in result.stdout
    files = list(out.glob("*.png"))
    assert len(files) == 1 and files[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not _processes_started_from(bundle.resolve()), "image workers outlived the app"
