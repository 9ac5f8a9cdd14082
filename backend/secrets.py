"""A per-installation secret kept in the data dir (signs request ids and local uploads).

Generated once with ``secrets.token_bytes`` and stored with mode 0600 so restarting the
backend keeps previously issued request ids and presigned URLs valid.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from backend.private_files import private_dir, restrict, write_private_file

__all__ = ["SECRET_BYTES", "load_or_create_secret", "write_private_file"]

SECRET_BYTES = 32


def load_or_create_secret(data_dir: Path, name: str = "signing.key") -> bytes:
    """Read ``data_dir/name``, creating it with fresh random bytes if it does not exist."""
    data_dir = Path(data_dir)
    private_dir(data_dir)
    path = data_dir / name
    if not path.exists():
        write_private_file(path, secrets.token_bytes(SECRET_BYTES))
    restrict(path)
    data = path.read_bytes()
    if len(data) < 16:
        raise ValueError(f"The secret file {path} is too short; delete it to make a new one.")
    return data
