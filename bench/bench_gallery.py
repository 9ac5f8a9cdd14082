"""Gallery at real output sizes: today's originals vs the server's variants, side by side.

A session of 200 generations of photographic images at each model's real size (4K PNGs of
~23 MB first; bench/gallery_session.py) is stored through the backend's own rehost path,
which writes the display-size variants, and served by the real embedded backend behind the
proxy, here a 50 Mbit/s downlink with 40 ms added to every round trip. The real window
(bench/gallery_window.py, a child process each) then runs twice in one run with one switch
changed: "today" fetches originals and decodes them scaled, "now" fetches the variant that
covers what it shows (ImageFetcher.use_variants). Figures: bytes and time until the first
screen shows every thumbnail; time until the carousel shows a 4K image; resident memory
while it pages through 4K images. Bytes are everything the proxy sent the client.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from bench.gallery_session import GallerySession, seed_session, write_plan
from bench.harness import Result, Stack, median
from bench.proxy import REPO_ROOT, ProxyStats
from catalog.image_variants import has_variants, parse_variant

DOWNLINK_BPS = 50e6
ADDED_LATENCY_S = 0.040
MODES = ("today", "now")
# An offscreen screen big enough for the window (the default offscreen screen is 800x800).
SCREEN = {
    "synchronousWindowSystemEvents": False,
    "windowFrameMargins": False,
    "screens": [{"name": "bench", "x": 0, "y": 0, "width": 1920, "height": 1080, "logicalDpi": 96}],
}


def _original_paths(stats: ProxyStats) -> list[str]:
    """Paths of the originals the client fetched (stored images that are not a variant)."""
    return [
        r.path
        for r in stats.requests
        if r.method == "GET" and has_variants(r.path) and parse_variant(r.path) is None
    ]


def _phase(stats: ProxyStats) -> dict[str, Any]:
    images = [r for r in stats.requests if r.path.startswith("/files/")]
    return {
        # When the client sent its first image request (monotonic, the child's clock too).
        "first_image_request_at": min((r.arrived for r in images), default=None),
        "bytes_down": stats.bytes_down,
        "requests": len(stats.requests),
        "images": len(images),
        "image_requests": [[r.arrived, r.path] for r in images],
        "originals": _original_paths(stats),
        "variants": sum(1 for r in stats.requests if parse_variant(r.path) is not None),
    }


def drive_window(
    stack: Stack, mode: str, plan: Path, work: Path, token: str, pages: int, timeout: float
) -> dict[str, Any]:
    """Run the window child in ``mode``; its figures plus the proxy's per phase."""
    screen = work / "screen.json"
    screen.write_text(json.dumps(SCREEN))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={screen}"}
    cmd = [
        sys.executable,
        "-m",
        "bench.gallery_window",
        f"--mode={mode}",
        f"--api={stack.api_url}",
        f"--token={token}",
        f"--plan={plan}",
        f"--work={work / mode}",
        f"--pages={pages}",
    ]
    phases: dict[str, dict[str, Any]] = {}
    result: dict[str, Any] | None = None
    with open(work / f"{mode}.stderr", "w+") as errors:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            bufsize=1,
        )
        watchdog = threading.Timer(timeout, proc.kill)
        watchdog.start()
        try:
            assert proc.stdin is not None and proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("MARK "):
                    phases[line.split()[1]] = _phase(stack.proxy.reset_stats())
                    proc.stdin.write("GO\n")
                    proc.stdin.flush()
                elif line.startswith("RESULT "):
                    result = json.loads(line[len("RESULT ") :])
            proc.wait()
        finally:
            watchdog.cancel()
            with contextlib.suppress(OSError):
                proc.kill()
        if result is None:
            errors.seek(0)
            tail = errors.read()[-2000:]
            raise RuntimeError(
                f"the {mode} window produced no result (exit {proc.returncode}):\n{tail}"
            )
    return result | {"phases": phases}


def measure(smoke: bool = False, work: Path | None = None) -> dict[str, Any]:
    """Both modes in one run, over one stored session. ``smoke``: tiny images, 12
    generations, 2 pages (seconds; for tests/bench)."""
    generations, scale, pages = (12, 1 / 8, 2) if smoke else (200, 1.0, 8)
    with contextlib.ExitStack() as cleanup:
        if work is None:
            work = Path(
                cleanup.enter_context(
                    tempfile.TemporaryDirectory(prefix="bench-gallery-", ignore_cleanup_errors=True)
                )
            )
        stack = cleanup.enter_context(
            Stack(work / "backend", delay_s=ADDED_LATENCY_S, downlink_bps=DOWNLINK_BPS)
        )
        token = stack.token("bench-gallery")
        session = seed_session(stack.backend, token, generations, scale=scale)
        plan = work / "plan.json"
        write_plan(session, plan)
        modes = {
            mode: drive_window(stack, mode, plan, work, token, pages, 900 if not smoke else 120)
            for mode in MODES
        }
    return {"session": _describe(session), **modes}


def _describe(session: GallerySession) -> dict[str, Any]:
    sizes: dict[str, list[int]] = {}
    for gen in session.generations:
        for image, size in zip(gen.images, gen.original_bytes, strict=True):
            edge = max(image["width"], image["height"])
            kind = image.get("contentType", "?").split("/")[-1]
            sizes.setdefault(f"{edge}px {kind}", []).append(size)
    return {
        "generations": len(session.generations),
        "images": sum(len(g.images) for g in session.generations),
        "originals_rehosted": session.originals_rehosted,
        "variants_at_rehost": session.variants_at_rehost,
        "mean_mb": {k: sum(v) / len(v) / 1e6 for k, v in sorted(sizes.items())},
    }


def results(m: dict[str, Any]) -> list[Result]:
    today, now = m["today"], m["now"]
    t_first, n_first = today["phases"]["first_screen"], now["phases"]["first_screen"]
    t_mb, n_mb = t_first["bytes_down"] / 1e6, n_first["bytes_down"] / 1e6
    label = f"{m['session']['generations']} generations, 50 Mbit/s +40 ms"
    sizes = ", ".join(f"{k} {v:.1f} MB" for k, v in m["session"]["mean_mb"].items())
    return [
        Result(
            name=f"Gallery first screen bytes ({label})",
            ours=n_mb,
            reference=t_mb,
            unit="MB",
            target="<= 5% of today's",
            passed=n_mb <= 0.05 * t_mb,
            note=f"{100 * n_mb / t_mb:.2f} % of today's; {now['tiles']} tiles on "
            f"{now['cards']} cards at {now['window'][0]}x{now['window'][1]}; originals "
            f"fetched: today {len(t_first['originals'])}, now {len(n_first['originals'])} (now: "
            f"{n_first['variants']} variants); originals (mean): {sizes}",
        ),
        Result(
            name="Gallery first screen: session opened -> every thumbnail painted",
            ours=now["first_screen_ms"],
            reference=today["first_screen_ms"],
            unit="ms",
            target="<= 1000 ms",
            passed=now["first_screen_ms"] <= 1000,
            note=f"today = originals fetched and decoded scaled ({t_mb:.1f} MB)",
        ),
        _carousel_row(today, now),
        Result(
            name=f"Window RSS, carousel paging {len(now['page_ms'])} 4K images",
            ours=now["rss_carousel_mb"],
            reference=today["rss_carousel_mb"],
            unit="MiB",
            target="<= 500 MiB",
            passed=now["rss_carousel_mb"] <= 500,
            note=f"highest sample while the carousel was open; peak of the whole run (VmHWM): "
            f"now {now['rss_peak_mb']:.0f} MiB, today {today['rss_peak_mb']:.0f} MiB",
        ),
    ]


def _carousel_row(today: dict[str, Any], now: dict[str, Any]) -> Result:
    phases = now["phases"]
    originals = len(phases["carousel"]["originals"]) + len(phases["paging"]["originals"])
    sent = phases["carousel"]["first_image_request_at"]
    sent_ms = f"{(sent - now['carousel_t0']) * 1000:.0f} ms" if sent else "never"
    return Result(
        name="Carousel: opened on a 4K image -> large image painted",
        ours=now["carousel_ms"],
        reference=today["carousel_ms"],
        unit="ms",
        target="<= 300 ms",
        passed=now["carousel_ms"] <= 300,
        note=f"rendition shown: now {now['carousel_rendition']}, today "
        f"{today['carousel_rendition']} (today's original was already on disk from the grid); "
        f"now's image request left the client after {sent_ms}; paging to the next 4K image, "
        f"median: now {median(now['page_ms']):.0f} ms, today {median(today['page_ms']):.0f} ms; "
        f"originals fetched by the carousel now: {originals}",
    )


def run(smoke: bool = False) -> list[Result]:
    return results(measure(smoke=smoke))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--json", help="write the raw figures here")
    args = parser.parse_args()
    measured = measure(smoke=args.smoke)
    if args.json:
        Path(args.json).write_text(json.dumps(measured, indent=2))
    for row in results(measured):
        print(row)
