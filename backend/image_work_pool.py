"""CPU-heavy image work (rendering, WebP variants) in worker processes, off the event loop.

Pillow releases the GIL for much of its work but not all of it, and a thread pool shares
the process's cores with the event loop that answers every request: under load each route
queued behind image work (docs/benchmarks.md, "Latency under load"). Here the work runs in
a few spawned worker processes that lower their own priority (``os.nice``), so the
server's loop always gets the CPU first and image work takes what is left.

- **Lazy**: no process starts until the first job (the desktop app's backend starts as
  fast as before, and a server that never renders never pays for the pool).
- **Bounded, with priorities**: at most ``workers`` jobs are in the workers at once; the
  rest wait here, a request's work (:data:`URGENT`: an HTTP call is waiting for it) ahead
  of background work (:data:`BACKGROUND`: a queued job's render, variants nobody waits
  for). A caller that goes away before its turn never reaches a worker.
- **A crash loses nothing silently**: a worker that dies (segfault, OOM kill) breaks the
  executor; every job it held is retried once on a fresh one, and a job that breaks it
  again raises :class:`ImageWorkerCrashed` with a sentence for the user.
- **No orphans**: :meth:`close` stops the workers, and each worker exits by itself when
  its parent is gone (a SIGKILLed server leaves no process behind).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

URGENT = 0
BACKGROUND = 1
# How much the workers lower their priority: enough that the loop wins every contest for
# a core, not so much that image work starves while the server is merely busy.
WORKER_NICENESS = 5
# How often a worker checks that its parent is still alive.
PARENT_CHECK_S = 0.5
# Attempts per job: a job that was in a worker when another one crashed is re-run once.
ATTEMPTS = 2


class ImageWorkerCrashed(Exception):
    """An image worker process died while doing this job (twice); ``message`` is for users."""

    def __init__(self) -> None:
        self.message = "The image could not be made: its worker process stopped unexpectedly."
        super().__init__(self.message)


class WorkNotWanted(Exception):
    """The job was dropped before it reached a worker (its ``still_wanted`` said no)."""


def _exit_when_orphaned(parent: int) -> None:
    while True:
        time.sleep(PARENT_CHECK_S)
        if os.getppid() != parent:
            # Nobody is left to hand work or report to: end the whole worker process.
            os.kill(os.getpid(), signal.SIGTERM)


def _init_worker(parent: int, niceness: int) -> None:
    """Runs first in every worker: step aside for the server (if the worker was not born
    niced already), and die with it. ``niceness`` is the absolute value to reach."""
    try:
        if os.nice(0) < niceness:
            os.nice(niceness - os.nice(0))
    except OSError:  # not allowed here (some containers): run at normal priority
        pass
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def _started() -> None:
    """A worker's first job: none (submitting it is what makes the executor spawn one)."""


def _spawn_workers_niced(executor: ProcessPoolExecutor, workers: int, niceness: int) -> None:
    """Start every worker of ``executor`` already niced (Linux).

    A spawned worker's first second is a fresh interpreter importing the server's modules
    (about a second of CPU each); ``_init_worker`` only runs after that. Spawned lazily by
    the loop's thread, two workers took that second at the server's own priority, right in
    the first request burst that needed an image, and the loop got half a core for it
    (docs/benchmarks.md, "Fourth pass"). On Linux a nice value belongs to a thread and a
    child process is born with its parent thread's: a short-lived thread lowers its own
    priority and submits one no-op per worker, so the executor spawns them all from it (its
    manager thread starts there too, at that priority: it only hands jobs and results
    over). Elsewhere the workers start at the server's priority; the initializer lowers it."""
    if not sys.platform.startswith("linux"):
        return

    def spawn() -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
        except OSError:
            return  # not allowed: the executor spawns them as it needs them
        for _ in range(workers):
            executor.submit(_started)

    spawner = threading.Thread(target=spawn, name="image-worker-spawner", daemon=True)
    spawner.start()
    spawner.join()  # forks and execs only: milliseconds


class ImageWorkPool:
    """A lazily started, bounded, prioritised process pool for image work."""

    def __init__(self, workers: int | None = None, *, niceness: int = WORKER_NICENESS) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.niceness = niceness
        self._executor: ProcessPoolExecutor | None = None
        self._busy = 0
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        # Retries' executors (one worker each), stopped with the pool.
        self._alone: set[ProcessPoolExecutor] = set()

    @property
    def started(self) -> bool:
        return self._executor is not None

    def worker_pids(self) -> list[int]:
        """The live workers' process ids (tests, diagnostics)."""
        executor = self._executor
        processes: dict[int, Any] = getattr(executor, "_processes", None) or {}
        return [pid for pid, proc in processes.items() if proc.is_alive()]

    async def run(
        self,
        fn: Callable[..., T],
        /,
        *args: Any,
        priority: int = URGENT,
        still_wanted: Callable[[], Awaitable[bool]] | None = None,
    ) -> T:
        """``fn(*args)`` in a worker; ``fn`` and its arguments must pickle (module-level
        functions, plain data). Raises what ``fn`` raised, or :class:`ImageWorkerCrashed`.

        ``still_wanted`` is asked once the job's turn has come (it may have waited long):
        False raises :class:`WorkNotWanted` and the job never reaches a worker."""
        if self._closed:
            # Only at shutdown: callers treat it as the server stopping (a queued job is
            # handed back for the next start), never as the image failing.
            raise asyncio.CancelledError("the image work pool is closed")
        await self._take_turn(priority)
        if still_wanted is not None:
            try:
                wanted = await still_wanted()
            except BaseException:
                self._end_turn()
                raise
            if not wanted:
                self._end_turn()
                raise WorkNotWanted()
        for attempt in range(1, ATTEMPTS + 1):
            # A retry runs alone, in a worker of its own: the pool cannot tell which of the
            # jobs it held crashed it, and a crasher retried beside the others would take
            # them down a second time.
            alone = attempt > 1
            executor = self._new_executor(1) if alone else self._ensure_executor()
            if alone:
                self._alone.add(executor)
            try:
                future = executor.submit(fn, *args)
            except BrokenProcessPool:
                self._discard(executor)
                continue
            try:
                result: T = await asyncio.shield(asyncio.wrap_future(future))
            except BrokenProcessPool:
                self._discard(executor)
                log.warning("an image worker died (attempt %d of %d)", attempt, ATTEMPTS)
                continue
            except asyncio.CancelledError:
                # The caller left; the worker still finishes this job, so its turn ends
                # only then (the bound on busy workers stays true).
                future.add_done_callback(self._done_elsewhere)
                raise
            except BaseException:
                self._end_turn()
                raise
            finally:
                if alone:
                    self._retire(executor)
            self._end_turn()
            return result
        self._end_turn()
        raise ImageWorkerCrashed()

    async def close(self) -> None:
        """Stop the workers (waiting for them to exit); queued work is refused."""
        self._closed = True
        for _, _, waiter in self._waiting:
            if not waiter.done():
                waiter.cancel()
        self._waiting.clear()
        executors = [e for e in (self._executor, *self._alone) if e is not None]
        self._executor = None
        self._alone.clear()
        for executor in executors:
            try:
                await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
            except RuntimeError:
                # The loop's thread pool is already gone (the interpreter is stopping):
                # wait here; the workers only finish the image they are on.
                executor.shutdown(wait=True, cancel_futures=True)

    # -- turns ------------------------------------------------------------------------

    async def _take_turn(self, priority: int) -> None:
        if self._busy < self.workers and not self._waiting:
            self._busy += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._order), waiter))
        try:
            await waiter  # the turn is handed over with _busy already counted
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._end_turn()  # handed a turn just as we left: pass it on
            else:
                self._waiting = [w for w in self._waiting if w[2] is not waiter]
                heapq.heapify(self._waiting)
            raise

    def _end_turn(self) -> None:
        while self._waiting:
            _, _, waiter = heapq.heappop(self._waiting)
            if not waiter.done():
                waiter.set_result(None)  # _busy stays: the turn moves to this waiter
                return
        self._busy -= 1

    def _done_elsewhere(self, _: Future[Any]) -> None:
        # Called in the executor's thread: hop back onto the loop that owns the counters.
        if self._loop is None:
            return
        try:
            self._loop.call_soon_threadsafe(self._end_turn)
        except RuntimeError:  # the loop is closed: nobody is waiting for a turn any more
            pass

    # -- the executor -----------------------------------------------------------------

    def _ensure_executor(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = self._new_executor(self.workers)
        return self._executor

    def _new_executor(self, workers: int) -> ProcessPoolExecutor:
        if self._closed:  # closed while this job waited: never start workers again
            raise asyncio.CancelledError("the image work pool is closed")
        self._loop = asyncio.get_running_loop()
        niceness = min(19, os.nice(0) + self.niceness) if self.niceness else os.nice(0)
        # spawn, not fork: the server has threads (SQLite, uvicorn) whose locks a forked
        # child would inherit held.
        executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(os.getpid(), niceness),
        )
        if self.niceness:
            _spawn_workers_niced(executor, workers, niceness)
        return executor

    def _retire(self, executor: ProcessPoolExecutor) -> None:
        """A retry's own executor: its worker exits once its one job is done."""
        self._alone.discard(executor)
        executor.shutdown(wait=False)

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        if self._executor is executor:
            self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)
