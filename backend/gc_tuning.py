"""The cyclic garbage collector of a serving process.

Under load a full collection (generation 2) walked every object the process holds: the
server's own modules, classes and tables as well as what its requests made. The load run
measured ten of them at 25-270 ms each, and 1,200 young collections besides: 3.2 s of
collecting in a 110 s run, every one a pause of the event loop and so of every request in
flight (docs/benchmarks.md, "Fifth pass"). Two settings take that to ~0.7 s:

* once the server has started, what exists is there for good: ``gc.freeze()`` moves it out
  of the collector's sight, so later collections walk only what came after;
* young collections every 10,000 net allocations instead of 700: a burst of requests holds
  ~100,000 objects in flight, which each small collection walked again and again. Nearly
  all of them are freed by reference counting, never by the collector.
"""

from __future__ import annotations

import gc
import logging
import threading

log = logging.getLogger(__name__)

YOUNG_THRESHOLD = 10_000
OLDER_THRESHOLDS = (20, 20)

_frozen = threading.Event()


def freeze_startup_objects() -> None:
    """Collect once and freeze what is alive (once per process: a process that starts a
    second server, as a test run does, must not freeze the first one's leftovers for
    good), then space the collections out."""
    if not _frozen.is_set():
        _frozen.set()
        gc.collect()
        gc.freeze()
        log.debug("%d objects frozen out of the garbage collector", gc.get_freeze_count())
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
