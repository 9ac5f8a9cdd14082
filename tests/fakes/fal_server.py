"""A small HTTPS fake of Fal's queue and storage, for driving the real fal-client in tests.

``FakeFal(tmp_dir).start()`` serves on ``https://127.0.0.1:<port>`` with a throwaway CA;
``point_fal_client_at(fake, monkeypatch)`` makes fal-client (and every httpx client made
afterwards) use it. What it implements, as fal-client 1.x and Fal's docs describe it:

* queue: ``POST /<endpoint>`` -> ``{request_id, response_url, status_url, cancel_url}``;
  ``GET /<owner>/<app>/requests/<id>/status`` -> IN_QUEUE (``queue_position``) ->
  IN_PROGRESS -> COMPLETED (``logs``, ``metrics``; ``error`` once cancelled);
  ``GET /<owner>/<app>/requests/<id>`` -> the result, 400 while running, 422 with
  ``detail: [{loc, msg, type}]`` when the input broke the endpoint's JSON Schema or a
  reference could not be fetched; ``PUT …/cancel`` -> 202 CANCELLATION_REQUESTED,
  400 ALREADY_COMPLETED, 404 NOT_FOUND. Every call needs ``Authorization: Key <key>``.
* storage (``AsyncClient.upload``): ``POST /rest/storage/auth/token`` (CDN token),
  ``POST /cdn/files/upload`` -> ``{access_url}``, and the fallback
  ``POST /rest/storage/upload/initiate`` + ``PUT /gcs/<id>``; files at ``/files/<name>``.

References are fetched like Fal would, but the fake reaches nothing outside itself: its own
``/files/`` URLs and ``data:`` URIs work, anything else (our loopback store included) is a
``file_download_error``, unless it starts with one of ``reachable_prefixes``.
Outputs are real PNGs (``fal_outputs.py``); ``sync_mode: true`` answers data URIs.
A prompt containing ``[hold]`` keeps its job IN_PROGRESS until it is cancelled.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from backend.runner import free_port
from tests.fakes import fal_outputs
from tests.fakes.tls import make_test_tls

FAKE_KEY = "fake-fal-key-id:fake-fal-secret"
HOLD_MARKER = "[hold]"
_CDN_TOKEN = "fake-cdn-token"
_NOT_FOUND = {"detail": "Request not found"}


@dataclass
class FakeJob:
    id: str
    endpoint: str
    body: dict[str, Any]
    created: float
    queue_s: float
    run_s: float
    headers: dict[str, str]
    cancelled: bool = False
    answer: tuple[int, dict[str, Any]] | None = None

    @property
    def app(self) -> str:
        return "/".join(self.endpoint.split("/")[:2])

    def phase(self, now: float) -> str:
        if self.cancelled or self.answer is not None:
            return "COMPLETED"
        if now < self.created + self.queue_s:
            return "IN_QUEUE"
        held = HOLD_MARKER in str(self.body.get("prompt", ""))
        if held or now < self.created + self.queue_s + self.run_s:
            return "IN_PROGRESS"
        return "COMPLETED"


@dataclass
class FakeFal:
    directory: Path
    key: str = FAKE_KEY
    queue_s: float = 0.0
    run_s: float = 0.0
    reachable_prefixes: tuple[str, ...] = ()
    # Delay the submit answer (after the job is queued): a lost answer for the client.
    submit_answer_delay_s: float = 0.0
    jobs: dict[str, FakeJob] = field(default_factory=dict)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    uploads: list[str] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)
    rejections: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tls = make_test_tls(self.directory / "tls")
        self.port = free_port()
        self.base_url = f"https://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------
    def start(self, timeout: float = 15.0) -> FakeFal:
        config = uvicorn.Config(
            build_app(self),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ssl_certfile=str(self.tls.cert_file),
            ssl_keyfile=str(self.tls.key_file),
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-fal", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake Fal server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
        self._server = None

    # -- what tests look at -----------------------------------------------------------
    def submissions(self, endpoint: str | None = None) -> list[FakeJob]:
        with self._lock:
            return [j for j in self.jobs.values() if endpoint in (None, j.endpoint)]

    def storage_url(self, name: str) -> str:
        return f"{self.base_url}/files/{name}"

    # -- behaviour --------------------------------------------------------------------
    def queue_urls(self, job: FakeJob) -> dict[str, str]:
        base = f"{self.base_url}/{job.app}/requests/{job.id}"
        return {
            "response_url": base,
            "status_url": f"{base}/status",
            "cancel_url": f"{base}/cancel",
        }

    def store_file(self, data: bytes, content_type: str, suffix: str = "") -> str:
        name = uuid.uuid4().hex + suffix
        with self._lock:
            self.files[name] = (data, content_type)
        return self.storage_url(name)

    def position(self, job: FakeJob, now: float) -> int:
        ahead = [j for j in self.jobs.values() if j.created < job.created]
        return sum(1 for j in ahead if j.phase(now) == "IN_QUEUE")

    def finish(self, job: FakeJob) -> tuple[int, dict[str, Any]]:
        """The job's final answer (computed once)."""
        if job.answer is None:
            job.answer = self._compute(job)
        return job.answer

    def _compute(self, job: FakeJob) -> tuple[int, dict[str, Any]]:
        detail = fal_outputs.validation_errors(job.endpoint, job.body)
        detail += self._unreachable(job.body)
        if detail:
            self.rejections.append((job.endpoint, detail))
            return 422, {"detail": detail}
        count = fal_outputs.image_count(job.endpoint, job.body)
        files = []
        for i in range(count):
            data = fal_outputs.png(i)
            if job.body.get("sync_mode") is True:
                url = "data:image/png;base64," + base64.b64encode(data).decode()
            else:
                url = self.store_file(data, "image/png", ".png")
            files.append(
                {
                    "url": url,
                    "content_type": "image/png",
                    "file_name": f"output_{i}.png",
                    "file_size": len(data),
                    "width": 64,
                    "height": 48,
                }
            )
        return 200, fal_outputs.output_body(job.endpoint, job.body, files)

    def _unreachable(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        detail: list[dict[str, Any]] = []
        for name, value in body.items():
            if not name.endswith(("_url", "_urls")):
                continue
            urls = value if isinstance(value, list) else [value]
            for i, url in enumerate(urls):
                if isinstance(url, str) and not self._fetchable(url):
                    loc: list[Any] = ["body", name]
                    if isinstance(value, list):
                        loc.append(i)
                    detail.append(
                        {
                            "loc": loc,
                            "msg": "Failed to download the file. Please check if the URL "
                            "is accessible.",
                            "type": "file_download_error",
                        }
                    )
        return detail

    def _fetchable(self, url: str) -> bool:
        if url.startswith("data:"):
            try:
                payload = base64.b64decode(url.partition(",")[2], validate=True)
            except ValueError:
                return False
            return fal_outputs.is_image(payload)
        if url.startswith(self.storage_url("")):
            stored = self.files.get(url[len(self.storage_url("")) :])
            return stored is not None and fal_outputs.is_image(stored[0])
        return url.startswith(self.reachable_prefixes) if self.reachable_prefixes else False


def _authorized(fake: FakeFal, request: Request) -> bool:
    return request.headers.get("authorization") == f"Key {fake.key}"


def _unauthorized() -> JSONResponse:
    return JSONResponse({"detail": "No user found for Key ID and Secret"}, status_code=401)


def build_app(fake: FakeFal) -> FastAPI:
    app = FastAPI()

    @app.post("/rest/storage/auth/token")
    async def cdn_token(request: Request) -> Response:
        if not _authorized(fake, request):
            return _unauthorized()
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        return JSONResponse(
            {
                "token": _CDN_TOKEN,
                "token_type": "Bearer",
                "base_url": f"{fake.base_url}/cdn",
                "expires_at": expires.isoformat(),
            }
        )

    @app.post("/cdn/files/upload")
    async def cdn_upload(request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {_CDN_TOKEN}":
            return JSONResponse({"detail": "Unauthorized"}, status_code=401)
        content_type = request.headers.get("content-type", "application/octet-stream")
        url = fake.store_file(await request.body(), content_type)
        fake.uploads.append(url)
        return JSONResponse({"access_url": url})

    @app.post("/rest/storage/upload/initiate")
    async def initiate(request: Request) -> Response:
        if not _authorized(fake, request):
            return _unauthorized()
        name = uuid.uuid4().hex
        return JSONResponse(
            {"upload_url": f"{fake.base_url}/gcs/{name}", "file_url": fake.storage_url(name)}
        )

    @app.put("/gcs/{name}")
    async def gcs_put(name: str, request: Request) -> Response:
        content_type = request.headers.get("content-type", "application/octet-stream")
        fake.files[name] = (await request.body(), content_type)
        fake.uploads.append(fake.storage_url(name))
        return Response(status_code=200)

    @app.get("/files/{name}")
    async def get_file(name: str) -> Response:
        stored = fake.files.get(name)
        if stored is None:
            return JSONResponse({"detail": "Not found"}, status_code=404)
        return Response(stored[0], media_type=stored[1])

    def _job(
        owner: str, app_name: str, rid: str, request: Request, missing: dict[str, Any]
    ) -> FakeJob | Response:
        """The app's job ``rid``, or the answer instead of it: 401 without the key, 404
        with ``missing`` for a job of no such id under this app."""
        if not _authorized(fake, request):
            return _unauthorized()
        job = fake.jobs.get(rid)
        if job is None or job.app != f"{owner}/{app_name}":
            return JSONResponse(missing, status_code=404)
        return job

    @app.get("/{owner}/{app_name}/requests/{rid}/status")
    async def status(owner: str, app_name: str, rid: str, request: Request) -> Response:
        job = _job(owner, app_name, rid, request, _NOT_FOUND)
        if isinstance(job, Response):
            return job
        now = time.time()
        phase = job.phase(now)
        logs_on = request.query_params.get("logs") in ("true", "1", "True")
        answer: dict[str, Any] = {"status": phase, **fake.queue_urls(job)}
        if phase == "IN_QUEUE":
            answer["queue_position"] = fake.position(job, now)
        else:
            answer["logs"] = [{"message": "fake step", "level": "INFO"}] if logs_on else None
        if phase == "COMPLETED":
            answer["metrics"] = {"inference_time": job.run_s}
            if job.cancelled:
                answer["error"] = "Request was cancelled."
                answer["error_type"] = "request_cancelled"
        return JSONResponse(answer)

    @app.get("/{owner}/{app_name}/requests/{rid}")
    async def result(owner: str, app_name: str, rid: str, request: Request) -> Response:
        job = _job(owner, app_name, rid, request, _NOT_FOUND)
        if isinstance(job, Response):
            return job
        if job.cancelled:
            return JSONResponse({"detail": "Request was cancelled."}, status_code=400)
        if job.phase(time.time()) != "COMPLETED":
            return JSONResponse({"detail": "Request is still in progress"}, status_code=400)
        code, body = fake.finish(job)
        return JSONResponse(body, status_code=code)

    @app.put("/{owner}/{app_name}/requests/{rid}/cancel")
    async def cancel(owner: str, app_name: str, rid: str, request: Request) -> Response:
        job = _job(owner, app_name, rid, request, {"status": "NOT_FOUND"})
        if isinstance(job, Response):
            return job
        if job.cancelled or job.phase(time.time()) == "COMPLETED":
            return JSONResponse({"status": "ALREADY_COMPLETED"}, status_code=400)
        job.cancelled = True
        fake.cancels.append(rid)
        return JSONResponse({"status": "CANCELLATION_REQUESTED"}, status_code=202)

    @app.post("/{endpoint:path}")
    async def submit(endpoint: str, request: Request) -> Response:
        if not _authorized(fake, request):
            return _unauthorized()
        if endpoint not in fal_outputs.schemas():
            return JSONResponse({"detail": f"Application '{endpoint}' not found"}, 404)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"detail": "Invalid JSON"}, status_code=422)
        job = FakeJob(
            id=str(uuid.uuid4()),
            endpoint=endpoint,
            body=body,
            created=time.time(),
            queue_s=fake.queue_s,
            run_s=fake.run_s,
            headers={k.lower(): v for k, v in request.headers.items()},
        )
        with fake._lock:
            fake.jobs[job.id] = job
        if fake.submit_answer_delay_s:
            await asyncio.sleep(fake.submit_answer_delay_s)
        return JSONResponse({"request_id": job.id, **fake.queue_urls(job), "queue_position": 0})

    return app


def point_fal_client_at(fake: FakeFal, monkeypatch: pytest.MonkeyPatch) -> None:
    """Aim fal-client at the fake and trust its CA (before any client is created).

    fal-client reads ``FAL_RUN_HOST`` / ``FAL_QUEUE_RUN_HOST`` once, when it is imported
    (``fal_client.auth``), and builds ``QUEUE_URL_FORMAT`` from them; the storage hosts
    (``REST_URL``, ``CDN_URL``) are plain constants. In a test process it may already be
    imported, so the module constants are set too. httpx trusts ``SSL_CERT_FILE``.
    """
    import fal_client.auth
    import fal_client.client

    host = f"127.0.0.1:{fake.port}"
    monkeypatch.setenv("FAL_RUN_HOST", host)
    monkeypatch.setenv("FAL_QUEUE_RUN_HOST", host)
    monkeypatch.setenv("SSL_CERT_FILE", str(fake.tls.ca_file))
    monkeypatch.setattr(fal_client.auth, "FAL_RUN_HOST", host)
    monkeypatch.setattr(fal_client.auth, "FAL_QUEUE_RUN_HOST", host)
    monkeypatch.setattr(fal_client.client, "RUN_URL_FORMAT", f"https://{host}/")
    monkeypatch.setattr(fal_client.client, "QUEUE_URL_FORMAT", f"https://{host}/")
    monkeypatch.setattr(fal_client.client, "REST_URL", f"https://{host}/rest")
    monkeypatch.setattr(fal_client.client, "CDN_URL", f"https://{host}/cdn")


@contextmanager
def serving_fake_fal(directory: Path, **settings: Any) -> Iterator[FakeFal]:
    """A started fake with fal-client pointed at it, for the ``with`` block (module fixtures)."""
    fake = FakeFal(directory, **settings).start()
    try:
        with pytest.MonkeyPatch.context() as patch:
            point_fal_client_at(fake, patch)
            yield fake
    finally:
        fake.stop()
