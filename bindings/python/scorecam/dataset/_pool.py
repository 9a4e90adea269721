"""The embedded backends: in this process (one worker), or a local pool of worker processes,
each loading the model once and explaining many images with `_work.explain_image`.

Workers are started with "spawn" (no fork of a process that holds ONNX Runtime threads) and ignore
SIGINT: Ctrl-C reaches the driver, which stops them. A worker that dies (killed, out of memory)
breaks the pool: a new pool is started and the images that were in flight are tried again, up to
MAX_ATTEMPTS times (_retry.py), after which they get an error row. Nothing hangs.
"""
from __future__ import annotations

import collections
import multiprocessing
import os
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Sequence

from ._inputs import Item
from ._retry import finished_row, retry_or_give_up
from ._work import Config, Worker, explain_image

_worker: Worker | None = None


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def run_serial(worker: Worker, items: Sequence[Item], on_row: Callable[[dict], None]) -> None:
    for item in items:
        on_row(explain_image(worker, item.key, item.path))


def _die_with_parent() -> None:
    """Linux: a worker whose driver is killed (kill -9) is killed too, never left orphaned."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the driver died before prctl took effect
        os._exit(1)


def _start_worker(config: Config) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    _worker = Worker(config)


def _explain(key: str, path: str) -> dict:
    return explain_image(_worker, key, path)


def _stop(executor: ProcessPoolExecutor) -> None:
    for process in list(getattr(executor, "_processes", {}).values()):
        try:
            process.kill()
        except Exception:  # noqa: BLE001 - already gone
            pass
    executor.shutdown(wait=True, cancel_futures=True)


def run_pool(config: Config, items: Sequence[Item], workers: int, on_row: Callable[[dict], None]) -> None:
    context = multiprocessing.get_context("spawn")
    pending = collections.deque(items)
    attempts: collections.Counter = collections.Counter()
    while pending:
        executor = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(config,))
        in_flight: dict = {}
        try:
            broken = False
            while (pending or in_flight) and not broken:
                while pending and len(in_flight) < 2 * workers:
                    item = pending.popleft()
                    in_flight[executor.submit(_explain, item.key, item.path)] = item
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    item = in_flight.pop(future)
                    try:
                        row = future.result()
                    except BrokenProcessPool:
                        broken = True
                        retry_or_give_up(item, attempts, pending, config, on_row)
                        continue
                    on_row(finished_row(row, item, attempts))
            # What was still in flight when the pool broke is tried again in the next pool.
            for item in in_flight.values():
                pending.appendleft(item)
        except BaseException:  # Ctrl-C, or on_row failing: stop the workers now
            _stop(executor)
            raise
        if broken:
            _stop(executor)
        else:
            executor.shutdown(wait=True)
