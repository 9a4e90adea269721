"""The embedded backends: in this process (one worker), or a local pool of worker processes,
each loading the model once and explaining many images with `_work.explain_image`.

Workers are started with "spawn" (no fork of a process that holds ONNX Runtime threads), ignore
SIGINT and SIGTERM (the driver gets them and stops the workers) and die with the driver. Each
worker has its own pipe and one image at a time, so the driver always knows which image a worker
had when it died (killed, out of memory): the dead worker is replaced and _retry.Blame decides
what happens to that image. The others are not touched. Nothing hangs.

A script that calls explain_dataset with workers > 1 without `if __name__ == "__main__":` makes
each spawned worker run the script again; such a worker exits with UNGUARDED_EXIT instead, and the
run stops before any image with one line saying what to add.
"""
from __future__ import annotations

import collections
import concurrent.futures
import multiprocessing
import os
import signal
from multiprocessing.connection import wait
from typing import Callable, Optional, Sequence

from ..errors import UsageError
from ._inputs import Item
from ._retry import Blame, describe_exit
from ._work import Config, Worker, begin_images, explain_image, finish_image

WORKER_NAME = "scorecam-worker"
UNGUARDED_EXIT = 86
UNGUARDED_MESSAGE = ('the script starts worker processes without the guard they need: put the call to '
                     'explain_dataset under `if __name__ == "__main__":` (or use workers=1)')
# Workers that die before loading the model, in a row, before the run gives up.
FAILED_STARTS = 3


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def starting_unguarded_worker() -> bool:
    """True inside a worker of ours that is importing the user's script as its __main__ (spawn
    runs the script's top level again): the script lacks the `__main__` guard."""
    process = multiprocessing.current_process()
    return process.name.startswith(WORKER_NAME) and getattr(process, "_inheriting", False)


def run_serial(worker: Worker, items: Sequence[Item], on_row: Callable[[dict], None]) -> None:
    """One worker in this process: images are begun `worker.images_per_call` at a time (their
    forward batches shared: _work.begin_images), and a writer thread writes their files while the
    model explains the next ones: the model's threads never wait for the encoder or the disk. (Pool
    workers have one core each, so there the file work could overlap nothing.)"""
    step = worker.images_per_call
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="scorecam-writer") as writer:
        writing = []  # the previous images' files, being written
        try:
            for start in range(0, len(items), step):
                explained = begin_images(worker, [(item.key, item.path) for item in items[start:start + step]])
                for future in writing:
                    on_row(future.result())
                writing = [writer.submit(finish_image, worker, one) for one in explained]
            while writing:
                on_row(writing.pop(0).result())
        except BaseException:
            for future in writing:  # Ctrl-C, a full disk: their rows are not recorded (rerun redoes them)
                future.cancel()
            raise


def _die_with_parent() -> None:
    """Linux: a worker whose driver is killed (kill -9) is killed too, never left orphaned."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the driver died before prctl took effect
        os._exit(1)


def _worker_main(config: Config, conn) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent()
    try:
        worker = Worker(config)
    except Exception as error:  # noqa: BLE001 - said to the driver, which stops the run
        conn.send(("failed", str(error) or type(error).__name__))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the driver is gone
            return
        if task is None:
            return
        key, path = task
        conn.send(("row", explain_image(worker, key, path)))


class _Slot:
    """One worker process, its pipe, and the image it is explaining (or None)."""

    def __init__(self, context, config: Config, number: int):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(config, child), daemon=True,
                                       name=f"{WORKER_NAME}-{number}")
        self.process.start()
        child.close()
        self.ready = False
        self.item: Optional[Item] = None

    def give(self, item: Item) -> None:
        self.item = item
        self.conn.send((item.key, item.path))

    def messages(self) -> list:
        """What the worker sent; an empty list and a dead process once it is gone."""
        received = []
        try:
            while self.conn.poll():
                received.append(self.conn.recv())
        except (EOFError, OSError):
            pass
        return received

    def stop(self, kill: bool) -> None:
        if kill:
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except OSError:
                pass
        self.process.join(timeout=None if kill else 30)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def run_pool(config: Config, items: Sequence[Item], workers: int, on_row: Callable[[dict], None]) -> None:
    context = multiprocessing.get_context("spawn")
    pending = collections.deque(items)
    blame = Blame(config, on_row)
    slots = []
    started = 0
    failed_starts = 0

    def start() -> None:
        nonlocal started
        started += 1
        slots.append(_Slot(context, config, started))

    try:
        for _ in range(min(workers, len(pending))):
            start()
        while pending or any(slot.item is not None for slot in slots):
            for slot in slots:
                if slot.ready and slot.item is None and pending:
                    item = pending.popleft()
                    blame.started(item)
                    slot.give(item)
            wait([slot.conn for slot in slots] + [slot.process.sentinel for slot in slots])
            for slot in list(slots):
                for message in slot.messages():
                    if message[0] == "ready":
                        slot.ready, failed_starts = True, 0
                    elif message[0] == "failed":
                        raise UsageError(f"a worker process cannot load the model: {message[1]}")
                    else:
                        item, slot.item = slot.item, None
                        on_row(blame.finished(message[1], item))
                if slot.process.is_alive():
                    continue
                # Dead: replace it (while work remains) and apply the rule to its image.
                slot.process.join()
                slots.remove(slot)
                slot.conn.close()
                how = describe_exit(slot.process.exitcode)
                if slot.process.exitcode == UNGUARDED_EXIT:
                    raise UsageError(UNGUARDED_MESSAGE)
                if not slot.ready:
                    failed_starts += 1
                    if failed_starts >= FAILED_STARTS:
                        raise UsageError(f"worker processes die before loading the model ({how}, "
                                         f"{failed_starts} times in a row)")
                if slot.item is not None:
                    blame.worker_died([slot.item], pending, how)
                if pending and len(slots) < workers:
                    start()
    except BaseException:  # Ctrl-C, SIGTERM, a full disk, on_row failing: stop the workers now
        for slot in slots:
            slot.stop(kill=True)
        raise
    for slot in slots:
        slot.stop(kill=False)
