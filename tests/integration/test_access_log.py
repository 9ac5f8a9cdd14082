"""`imagegen serve` as a real process: its access log never shows a presigned signature."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from backend.runner import free_port
from tests.integration.routes_support import PRESIGN_PATH, png_bytes

REPO = Path(__file__).resolve().parents[2]


def _wait_healthy(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30  # a startup deadline, not a timing assertion
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError("serve did not start")
        time.sleep(0.05)


def test_presigned_upload_signatures_stay_out_of_the_access_log(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if k not in ("CLERK_JWKS_URL", "REDIS_URL")}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend.server", "--port", str(port), "--dev-auth",
             "--data-dir", str(tmp_path / "data")],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            _wait_healthy(base, proc)
            token = httpx.post(base + "/api/dev/token").json()["token"]
            data = png_bytes()
            presigned = httpx.post(
                base + PRESIGN_PATH,
                json={"contentType": "image/png", "size": len(data)},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            put = httpx.put(
                presigned["uploadUrl"], content=data, headers={"Content-Type": "image/png"}
            )
            assert put.status_code == 200, put.text
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
    text = log_path.read_text()
    signature = re.search(r"[?&]sig=([0-9a-f]+)", presigned["uploadUrl"])
    assert signature is not None
    assert "PUT /files/" in text  # the request is logged...
    assert "sig=[redacted]" in text
    assert signature.group(1) not in text  # ...without the signature
