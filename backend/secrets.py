"""A per-installation secret kept in the data dir (signs request ids and local uploads).

Generated once with ``secrets.token_bytes`` and stored with mode 0600 so restarting the
backend keeps previously issued request ids and presigned URLs valid.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_BYTES = 32


def write_private_file(path: Path, data: bytes) -> None:
    """Create ``path`` with 0600 permissions atomically; losing a race is not an error."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        # link() fails if another process created the file first; then theirs wins.
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def load_or_create_secret(data_dir: Path, name: str = "signing.key") -> bytes:
    """Read ``data_dir/name``, creating it with fresh random bytes if it does not exist."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / name
    if not path.exists():
        write_private_file(path, secrets.token_bytes(SECRET_BYTES))
    data = path.read_bytes()
    if len(data) < 16:
        raise ValueError(f"The secret file {path} is too short; delete it to make a new one.")
    return data
