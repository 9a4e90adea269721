"""The cluster backend: Ray actors, each holding the model, running `_work.explain_image`.

Only keys, paths and manifest rows travel through Ray; every worker writes its files into the
output directory itself (on a cluster: storage every node mounts at the same path). An actor that
dies is restarted by Ray (the model is loaded again) and the images it had in flight are
submitted again, up to MAX_ATTEMPTS times; the driver appends each image's row once, when its
result arrives, so a retried image never appears twice.

Needs `pip install "scorecam[ray]"`; imported only when a run asks for Ray.
"""
from __future__ import annotations

import collections
import socket
from typing import Callable, Sequence

from ..errors import UsageError
from ._inputs import Item
from ._retry import finished_row, retry_or_give_up
from ._work import Config, Worker, explain_image


def _ray():
    from .._deps import require

    require("ray", extra="ray", purpose="the Ray backend (--ray)")
    import ray

    return ray


class ExplainActor:
    """One model per actor; Ray makes it remote (see run_ray)."""

    def __init__(self, config: Config):
        self.worker = Worker(config)

    def explain(self, key: str, path: str) -> dict:
        return explain_image(self.worker, key, path)


def _check_reachable(address: str) -> None:
    """A HOST:PORT or ray://HOST:PORT that nothing listens on makes ray.init wait for minutes:
    try the port first (a few seconds) and say so in one line."""
    target = address[len("ray://"):] if address.startswith("ray://") else address
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms: Ray's own checks
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except OSError as error:
        raise UsageError(f"cannot reach the Ray cluster at {address}: {error.strerror or error}") from None


def connect(address: str | None, cpus: int | None) -> bool:
    """Joins the cluster at `address` ("auto", "ray://host:10001", "host:6379"), or starts a
    local Ray with `cpus` CPUs when address is None or "local". Returns True if this call started
    Ray (the caller then shuts it down). A Ray already initialized in this process is used as is."""
    ray = _ray()
    if ray.is_initialized():
        return False
    try:
        if address in (None, "", "local"):
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        else:
            _check_reachable(address)
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except UsageError:
        raise
    except Exception as error:  # noqa: BLE001 - Ray's own words for an unreachable cluster
        what = "start a local Ray" if address in (None, "", "local") else f"connect to the Ray cluster at {address}"
        text = str(error).strip().splitlines()
        raise UsageError(f"cannot {what}: {text[0] if text else type(error).__name__}") from None
    return True


def cluster_cpus() -> int:
    ray = _ray()
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def run_ray(config: Config, items: Sequence[Item], workers: int, on_row: Callable[[dict], None],
            cpus_per_worker: float = 1) -> None:
    ray = _ray()
    actor_class = ray.remote(num_cpus=cpus_per_worker, max_restarts=-1, max_task_retries=0)(ExplainActor)
    actors = [actor_class.remote(config) for _ in range(workers)]
    pending = collections.deque(items)
    attempts: collections.Counter = collections.Counter()
    in_flight: dict = {}  # object ref -> (item, actor index)
    load = [0] * workers
    try:
        while pending or in_flight:
            while pending:
                index = min(range(workers), key=load.__getitem__)
                if load[index] >= 2:
                    break
                item = pending.popleft()
                in_flight[actors[index].explain.remote(item.key, item.path)] = (item, index)
                load[index] += 1
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                item, index = in_flight.pop(ref)
                load[index] -= 1
                try:
                    row = ray.get(ref)
                except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError,
                        ray.exceptions.ObjectLostError):
                    retry_or_give_up(item, attempts, pending, config, on_row)
                    continue
                on_row(finished_row(row, item, attempts))
    finally:
        for actor in actors:  # also ends the tasks still in flight (Ctrl-C)
            ray.kill(actor)
