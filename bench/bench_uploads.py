"""Uploads: ten 12-megapixel photos, our engine vs the reference.

Ours: the engine's Uploader (check, orient, downscale to the 2048 px long edge, re-encode,
presign, PUT, all files in parallel). Reference: the original files, three at a time. Both
go through the proxy with 50 ms added latency and one shared uplink (``UPLINK_MBPS``), the
way a user's connection would carry them; bytes are what the proxy received from the client
(requests and bodies). Photos are synthetic but photo-like (smooth colour fields plus sensor
grain, JPEG q92, about 4 MB each, two with an EXIF rotation) and cached between runs.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from pathlib import Path

from PIL import Image

from bench.clients import make_reference
from bench.harness import Result, Stack
from gui.engine.api_client import ApiClient
from gui.engine.events import EventBus
from gui.engine.tokens import StaticTokenProvider
from gui.engine.uploads import Uploader

PHOTO_SIZE = (4000, 3000)  # 12 MP
UPLINK_MBPS = 40.0
ADDED_LATENCY_S = 0.050
CACHE_DIR = Path(tempfile.gettempdir()) / "imagegen-bench-photos"


def _photo(path: Path, size: tuple[int, int], seed: int, rotate: bool) -> None:
    rng = random.Random(seed)

    def field(cw: int, ch: int) -> Image.Image:
        data = bytes(rng.randrange(256) for _ in range(cw * ch * 3))
        return Image.frombytes("RGB", (cw, ch), data).resize(size, Image.Resampling.BICUBIC)

    image = Image.blend(field(40, 30), field(400, 300), 0.25)
    grain = Image.effect_noise(size, 40).convert("RGB")
    image = Image.blend(image, grain, 0.12)
    exif = Image.Exif()
    exif[0x0112] = 6 if rotate else 1  # Orientation: 6 = rotate 90° clockwise on display
    tmp = path.with_suffix(".tmp")
    image.save(tmp, "JPEG", quality=92, exif=exif)
    tmp.replace(path)


def photos(count: int, size: tuple[int, int]) -> list[Path]:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = CACHE_DIR / f"photo-{size[0]}x{size[1]}-{i}.jpg"
        if not path.exists():
            _photo(path, size, seed=i, rotate=i % 5 == 4)
        paths.append(path)
    return paths


async def _ours(stack: Stack, token: str, paths: list[Path]) -> float:
    api = ApiClient(stack.api_url, StaticTokenProvider(token))
    try:
        await api.models()  # open the connection, as the app has long done by then
        uploader = Uploader(api, EventBus())
        t0 = time.monotonic()
        urls = await uploader.upload_all("bench", paths)
        took = time.monotonic() - t0
    finally:
        await api.aclose()
    assert len(urls) == len(paths)
    return took


async def _reference(stack: Stack, token: str, paths: list[Path]) -> float:
    client = make_reference(stack, token)
    try:
        await client.api.models()
        t0 = time.monotonic()
        urls = await client.upload_raw(paths)
        took = time.monotonic() - t0
    finally:
        await client.aclose()
    assert len(urls) == len(paths)
    return took


def run(smoke: bool = False) -> list[Result]:
    paths = photos(2, (2400, 1800)) if smoke else photos(10, PHOTO_SIZE)
    raw_mb = sum(p.stat().st_size for p in paths) / 1e6
    with tempfile.TemporaryDirectory(prefix="bench-uploads-") as tmp:
        with Stack(
            Path(tmp) / "backend", delay_s=ADDED_LATENCY_S, uplink_bps=UPLINK_MBPS * 1e6
        ) as stack:
            token = stack.token()
            stack.proxy.reset_stats()
            ours_s = asyncio.run(_ours(stack, token, paths))
            ours_bytes = stack.proxy.reset_stats().bytes_up
            ref_s = asyncio.run(_reference(stack, token, paths))
            ref_bytes = stack.proxy.reset_stats().bytes_up
    label = f"{len(paths)} photos of {raw_mb / len(paths):.1f} MB"
    return [
        Result(
            name=f"Upload bytes ({label})",
            ours=ours_bytes / 1e6,
            reference=ref_bytes / 1e6,
            unit="MB",
            target="<= 25% of reference",
            passed=ours_bytes <= 0.25 * ref_bytes,
        ),
        Result(
            name=f"Upload wall time ({UPLINK_MBPS:g} Mbit/s up, +50 ms)",
            ours=ours_s * 1000,
            reference=ref_s * 1000,
            unit="ms",
            target="<= 50% of reference",
            passed=ours_s <= 0.5 * ref_s,
        ),
    ]
