"""``python -m bench``: every benchmark against the embedded backend, one table at the end.

``--smoke`` runs each benchmark in a tiny mode (seconds; what CI runs to prove they still
work); ``--only NAME`` (repeatable) picks some; ``--markdown`` prints the table as Markdown
for docs/benchmarks.md; ``--json PATH`` writes the rows as JSON. A benchmark that breaks
becomes a row saying why, so the table is always printed; the exit status is 1 when any
benchmark broke, 0 otherwise (a missed target is a result, not an error).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import math
import os
import platform
import sys
import time
import traceback
from collections.abc import Sequence

from bench.harness import Result, machine_description

# Order: cheap and network-bound first, the long completion run in the middle.
BENCHMARKS: dict[str, str] = {
    "submit": "bench.bench_submit",
    "first_tile": "bench.bench_first_tile",
    "completion": "bench.bench_completion",
    "grid": "bench.bench_grid",
    "gallery": "bench.bench_gallery",
    "uploads": "bench.bench_uploads",
    "backend": "bench.bench_backend",
    "cold_start": "bench.bench_cold_start",
}


def run_benchmark(name: str, smoke: bool) -> list[Result]:
    module = importlib.import_module(BENCHMARKS[name])
    try:
        results: list[Result] = module.run(smoke=smoke)
    except Exception as exc:
        traceback.print_exc()
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [Result(name, None, None, "", "", False, f"BROKEN: {reason}")]
    return results


def _fmt(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    digits = 0 if abs(value) >= 100 else (1 if abs(value) >= 10 else 2)
    return f"{value:,.{digits}f} {unit}".strip()


def rows(results: Sequence[Result]) -> list[list[str]]:
    out = []
    for r in results:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "—"
        verdict = "—" if r.passed is None else ("PASS" if r.passed else "FAIL")
        out.append(
            [r.name, _fmt(r.ours, r.unit), _fmt(r.reference, r.unit), ratio, r.target, verdict]
        )
    return out


HEADER = ["Benchmark", "Ours", "Reference", "Ratio", "Target", "Result"]


def text_table(results: Sequence[Result]) -> str:
    body = rows(results)
    widths = [max(len(row[i]) for row in [HEADER, *body]) for i in range(len(HEADER))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in body]
    notes = [f"- {r.name}: {r.note}" for r in results if r.note]
    return "\n".join(lines + (["", *notes] if notes else []))


def markdown_table(results: Sequence[Result]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in rows(results)]
    return "\n".join(lines)


def environment() -> str:
    from PySide6 import __version__ as pyside

    load = os.getloadavg()
    return (
        f"{machine_description()}; Python {platform.python_version()}, PySide6 {pyside}; "
        f"load average {load[0]:.2f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny mode: seconds per benchmark")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), default=None)
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    names = args.only or list(BENCHMARKS)
    print(f"imagegen benchmarks{' (smoke)' if args.smoke else ''}: {environment()}", flush=True)
    results: list[Result] = []
    started = time.monotonic()
    for name in names:
        t0 = time.monotonic()
        print(f"running {name}…", file=sys.stderr, flush=True)
        results += run_benchmark(name, args.smoke)
        print(f"  {name} took {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)
    print()
    print(text_table(results))
    if args.markdown:
        print()
        print(markdown_table(results))
    print(f"\n{len(names)} benchmarks in {time.monotonic() - started:.0f} s; {environment()}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([dataclasses.asdict(r) for r in results], fh, indent=2)
    broken = [r for r in results if r.note.startswith("BROKEN")]
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
