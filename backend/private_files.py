"""Owner-only files in the data dir: folders 0700, databases and secrets 0600.

The data dir holds the signing secret, the embedded JWT key, every SQLite database (credits,
sessions, queued jobs) and the local object store. Nothing there is meant for other local
users, whatever the process umask is: modes are set with ``chmod``/``fchmod`` after
creation, since the mode given to ``open``/``mkdir`` is only ever narrowed by the umask
(0o077 would be fine, 0o277 would leave a database its owner cannot write).

SQLite creates a database's ``-wal``, ``-shm`` and ``-journal`` files with the main file's
exact mode (set with ``fchmod``, ignoring the umask), so creating the main file 0600
before SQLite opens it is enough for all of them; files left by an older version are
tightened here too.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def restrict(path: Path, mode: int = FILE_MODE) -> None:
    """``chmod path mode`` if it exists without it; a file we do not own only warns."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current == mode:
        return
    try:
        os.chmod(path, mode)
    except PermissionError:
        log.warning("cannot restrict %s to mode %o (not its owner)", path, mode)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) and make the folder itself mode 0700."""
    path = Path(path)
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    restrict(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists with mode 0600 (created empty if missing); the folder
    holding it is made private too."""
    path = Path(path)
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        restrict(path, FILE_MODE)
    else:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), FILE_MODE)
    return path


def private_sqlite(path: Path) -> Path:
    """Prepare a SQLite database path before ``sqlite3.connect``: the folder 0700, the
    database 0600 (an empty file is a valid empty database), and any side file 0600."""
    path = private_file(path)
    for suffix in SQLITE_SIDE_FILES:
        restrict(path.with_name(path.name + suffix), FILE_MODE)
    return path


@contextmanager
def _private_temp(path: Path, data: bytes, *, sync: bool) -> Iterator[Path]:
    """A new 0600 file next to ``path`` holding ``data`` (flushed to disk when ``sync``),
    for the block to link or move into place; removed afterwards if still there. The
    folder is made private first."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), FILE_MODE)
            fh.write(data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def write_private_file(path: Path, data: bytes) -> None:
    """Create ``path`` holding ``data`` with mode 0600, atomically; if another process
    created it first, theirs wins (not an error)."""
    path = Path(path)
    with _private_temp(path, data, sync=True) as tmp:
        # link() fails if another process created the file first; then theirs wins.
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass


def replace_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (replacing it atomically) with mode 0600."""
    path = Path(path)
    with _private_temp(path, data, sync=False) as tmp:
        os.replace(tmp, path)
