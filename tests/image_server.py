"""A small real HTTP server on 127.0.0.1 for the image-fetching tests (issue 20).

It stores real Pillow images under store-shaped keys (``outputs/yyyy/mm/dd/<32 hex>.jpg``),
serves ``GET /files/<key>`` with their bytes, answers the variant URLs of
``catalog.image_variants`` with real WebP variants (unless told an image has none, as an old
R2 record), lists the variants feature in ``GET /healthz`` when it makes them, and counts
every request it answers, so a test can say exactly what the client downloaded.
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

from catalog import image_variants


def photo_bytes(size: tuple[int, int], color: str = "teal", fmt: str = "JPEG") -> bytes:
    """A real encoded image: a gradient under noise (photographic detail), so encoders
    cannot shrink it to nothing."""
    gradient = Image.linear_gradient("L").resize(size)
    image = Image.blend(gradient, Image.effect_noise(size, 60), 0.3).convert("RGB")
    image.paste(Image.new("RGB", (size[0] // 3, size[1] // 3), color), (size[0] // 4,) * 2)
    out = io.BytesIO()
    image.save(out, fmt, quality=90)
    return out.getvalue()


def variant_bytes(original: bytes, edge: int) -> bytes:
    image = Image.open(io.BytesIO(original))
    image.thumbnail((edge, edge))  # never upscales, like the server's variants
    out = io.BytesIO()
    image.convert("RGB").save(out, "WEBP", quality=80)
    return out.getvalue()


class ImageServer:
    def __init__(self, variants: bool = True) -> None:
        self.variants = variants
        self.files: dict[str, bytes] = {}
        self.without_variants: set[str] = set()  # keys whose variants answer 404
        self.unsized: set[str] = set()  # keys sent without Content-Length (until close)
        self.requests: Counter[str] = Counter()  # path -> times asked
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> ImageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def add(self, data: bytes, ext: str = "jpg", variants: bool = True, sized: bool = True) -> str:
        """Store ``data`` as a new original; its URL."""
        key = f"outputs/2025/06/01/{uuid.uuid4().hex}.{ext}"
        self.files[key] = data
        if not variants:
            self.without_variants.add(key)
        if not sized:
            self.unsized.add(key)
        return f"{self.base_url}/files/{key}"

    def asked(self, url: str) -> int:
        path = url.removeprefix(self.base_url)
        with self._lock:
            return self.requests[path]

    def asked_paths(self) -> list[str]:
        with self._lock:
            return sorted(self.requests.elements())

    def originals_asked(self) -> list[str]:
        return [p for p in self.asked_paths() if image_variants.has_variants(p)]

    def variants_asked(self) -> list[str]:
        return [p for p in self.asked_paths() if image_variants.parse_variant(p)]

    def _body(self, path: str) -> tuple[int, bytes, str]:
        if path == "/healthz":
            features = ["cancel"] + ([image_variants.FEATURE] if self.variants else [])
            return 200, json.dumps({"status": "ok", "features": features}).encode(), "json"
        key = path.removeprefix("/files/")
        if key in self.files:
            return 200, self.files[key], "image/jpeg"
        parsed = image_variants.parse_variant(key)
        if parsed is not None and self.variants:
            base, edge = parsed
            for original_key, data in self.files.items():
                if original_key.rsplit(".", 1)[0] == base and original_key not in (
                    self.without_variants
                ):
                    return 200, variant_bytes(data, edge), image_variants.VARIANT_CONTENT_TYPE
        return 404, b'{"error": "Not found.", "code": "not_found"}', "application/json"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                with server._lock:
                    server.requests[path] += 1
                status, body, content_type = server._body(path)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                if path.removeprefix("/files/") not in server.unsized:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for start in range(0, len(body), 64 * 1024):
                        self.wfile.write(body[start : start + 64 * 1024])
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading (an over-cap body): expected

            def log_message(self, *args: object) -> None:
                pass

        return Handler
