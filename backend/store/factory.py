"""Pick the object store: R2 when it is configured, else the local store in the data dir."""

from __future__ import annotations

from backend.config import BackendConfig
from backend.secrets import load_or_create_secret
from backend.store.base import ObjectStore
from backend.store.local import LocalObjectStore
from backend.store.r2 import R2ObjectStore

LOCAL_STORE_DIR = "files"


def make_store(config: BackendConfig) -> ObjectStore:
    if config.r2_configured:
        return R2ObjectStore.from_config(config)
    secret = config.signing_secret or load_or_create_secret(config.data_dir)
    return LocalObjectStore(config.data_dir / LOCAL_STORE_DIR, config.public_base_url, secret)
