"""The R2 object store (Cloudflare's S3-compatible API, through boto3).

Clients upload with a presigned ``PUT`` whose ``Content-Type`` and ``Content-Length`` are
part of the signature: the presign route checks the declared size against the cap and R2
refuses a body of any other length. Every object is served from the public base URL.
"""

from __future__ import annotations

import asyncio
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from backend.config import BackendConfig
from backend.store.base import PresignedUpload, is_valid_key

CACHE_CONTROL = "public, max-age=31536000, immutable"


class R2ObjectStore:
    """Implements :class:`backend.store.base.ObjectStore` on an S3-compatible bucket."""

    # A presigned PUT cannot carry a size range (only POST policies can): the size is bound
    # by signing the exact Content-Length, so the presign route must know it.
    enforces_max_size = False
    makes_missing_variants = False

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str,
        access_key_id: str,
        secret_access_key: str,
        public_base_url: str,
        region: str = "auto",
        client: Any | None = None,
    ) -> None:
        self.bucket = bucket
        self.public_base_url = public_base_url.rstrip("/")
        self._client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    @classmethod
    def from_config(cls, config: BackendConfig) -> R2ObjectStore:
        if not config.r2_configured:
            raise ValueError(
                "R2 needs R2_BUCKET, R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY and an endpoint."
            )
        if not config.r2_public_base_url:
            raise ValueError("R2_PUBLIC_BASE_URL must be set so stored images have public URLs.")
        endpoint = config.r2_endpoint_url or (
            f"https://{config.r2_account_id}.r2.cloudflarestorage.com"
        )
        return cls(
            bucket=str(config.r2_bucket),
            endpoint_url=endpoint,
            access_key_id=str(config.r2_access_key_id),
            secret_access_key=str(config.r2_secret_access_key),
            public_base_url=config.r2_public_base_url,
        )

    def presign_put(
        self,
        key: str,
        content_type: str,
        max_size: int,
        expires_in: int,
        content_length: int | None = None,
    ) -> PresignedUpload:
        if not is_valid_key(key):
            raise ValueError(f"Refusing to presign an invalid key: {key!r}")
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "ContentType": content_type}
        if content_length is not None:
            if not 0 <= content_length <= max_size:
                raise ValueError(f"content_length {content_length} is over the {max_size} cap")
            # Signed header: R2 refuses an upload whose Content-Length differs.
            params["ContentLength"] = int(content_length)
        url = self._client.generate_presigned_url(
            "put_object",
            Params=params,
            ExpiresIn=int(expires_in),
            HttpMethod="PUT",
        )
        return PresignedUpload(
            upload_url=url, public_url=self.public_url(key), key=key, expires_in=int(expires_in)
        )

    async def put(self, key: str, data: bytes, content_type: str) -> str:
        if not is_valid_key(key):
            raise ValueError(f"Refusing to store an invalid key: {key!r}")
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            CacheControl=CACHE_CONTROL,
        )
        return self.public_url(key)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._get_sync, key)

    def _get_sync(self, key: str) -> bytes:
        try:
            obj = self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise KeyError(key) from exc
            raise
        body = obj["Body"]
        try:
            return bytes(body.read())
        finally:
            body.close()

    async def size(self, key: str) -> int | None:
        return await asyncio.to_thread(self._size_sync, key)

    def _size_sync(self, key: str) -> int | None:
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        return int(head["ContentLength"])

    def public_url(self, key: str) -> str:
        return f"{self.public_base_url}/{key}"

    def key_for_url(self, url: str) -> str | None:
        prefix = f"{self.public_base_url}/"
        if not isinstance(url, str) or not url.startswith(prefix):
            return None
        key = url[len(prefix) :]
        return key if is_valid_key(key) else None
