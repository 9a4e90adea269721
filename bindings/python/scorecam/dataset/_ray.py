"""The cluster backend: Ray actors, each holding the model, running `_work.explain_image`.

Only keys, paths and manifest rows travel through Ray; every worker writes its files into the
output directory itself (on a cluster: storage every node mounts at the same path). Ray does not
restart actors: an actor that dies (killed, out of memory, its node lost) is dropped, its images
go back to the queue under the retry rule of _retry.Blame and are given to the live actors, and a
replacement is started, used once it has loaded the model (one that cannot be placed, e.g. when
its node is gone, is never waited on). The driver appends each image's row once, when its result
arrives, so a retried image never appears twice.

A local Ray (`--ray` with no address) listens on 127.0.0.1 only and has no dashboard; a cluster
is the operator's to secure (docs/DATASETS.md).

Needs `pip install "scorecam[ray]"`; imported only when a run asks for Ray.
"""
from __future__ import annotations

import collections
import re
import socket
from typing import Callable, Sequence

from ..errors import UsageError
from ._inputs import Item
from ._retry import Blame
from ._work import Config, Worker, explain_image

# Tasks queued per actor (the next image is there when one ends); a suspect runs alone.
DEPTH = 2
# Actors that die before loading the model, in a row, before the run gives up.
FAILED_STARTS = 3
# With no live actor, how long to wait for a replacement to be placed before giving up.
PLACEMENT_WAIT_S = 300


def _ray():
    from .._deps import require

    require("ray", extra="ray", purpose="the Ray backend (--ray)")
    import ray

    return ray


class ExplainActor:
    """One model per actor; Ray makes it remote (see run_ray)."""

    def __init__(self, config: Config):
        self.worker = Worker(config)

    def ready(self) -> bool:
        return True

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
            _init_on_loopback(ray, cpus)
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


def _init_on_loopback(ray, cpus) -> None:
    """A local Ray whose servers (GCS, raylet, object manager, workers) listen on 127.0.0.1 only.
    Ray binds them to the node's address, which it takes to be the loopback one when clusters are
    disabled (its macOS/Windows default): that switch is set for the start of this Ray only."""
    from ray._private import ray_constants

    cluster = getattr(ray_constants, "ENABLE_RAY_CLUSTER", None)
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 _node_ip_address="127.0.0.1")
    finally:
        if cluster is None:
            del ray_constants.ENABLE_RAY_CLUSTER
        else:
            ray_constants.ENABLE_RAY_CLUSTER = cluster


def _how(error: BaseException) -> str:
    """How an actor ended, in a few words from Ray's message (exit type and detail)."""
    text = str(error)
    found = re.search(r"exit detail: ([^\n]+)", text, re.IGNORECASE) or re.search(r"(killed by [^\n.]+)", text)
    line = found.group(1) if found else (text.strip().splitlines() or [type(error).__name__])[0]
    return line.strip()[:300]


class _Actor:
    def __init__(self, actor_class, config: Config):
        self.handle = actor_class.remote(config)
        self.ready_ref = self.handle.ready.remote()
        self.live = False
        self.refs: list = []       # tasks in flight, oldest first
        self.alone = False          # running a suspect: nothing else is given to it


def run_ray(config: Config, items: Sequence[Item], workers: int, on_row: Callable[[dict], None],
            cpus_per_worker: float = 1) -> None:
    ray = _ray()
    lost = (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError, ray.exceptions.ObjectLostError)
    actor_class = ray.remote(num_cpus=cpus_per_worker, max_restarts=0, max_task_retries=0)(ExplainActor)
    actors = [_Actor(actor_class, config) for _ in range(workers)]
    pending = collections.deque(items)
    blame = Blame(config, on_row, what="Ray actor")
    in_flight: dict = {}  # object ref -> (item, actor)
    failed_starts = 0

    def drop(actor: _Actor, how: str) -> None:
        """An actor died: its images back to the queue (the rule), a replacement started."""
        actors.remove(actor)
        items_lost = []
        for ref in actor.refs:
            if ref not in in_flight:
                continue
            item = in_flight.pop(ref)[0]
            if ray.wait([ref], timeout=0)[0]:  # finished before the actor died: keep its row
                try:
                    on_row(blame.finished(ray.get(ref), item))
                    continue
                except lost:
                    pass
            items_lost.append(item)
        ray.kill(actor.handle, no_restart=True)
        if items_lost:
            blame.worker_died(items_lost, pending, how)
        if pending or in_flight:
            actors.append(_Actor(actor_class, config))

    try:
        while pending or in_flight:
            for actor in actors:
                while actor.live and not actor.alone and pending and len(actor.refs) < DEPTH:
                    if blame.runs_alone(pending[0]):
                        if actor.refs:
                            break
                        actor.alone = True
                    item = pending.popleft()
                    blame.started(item)
                    ref = actor.handle.explain.remote(item.key, item.path)
                    in_flight[ref] = (item, actor)
                    actor.refs.append(ref)
            starting = {actor.ready_ref: actor for actor in actors if not actor.live}
            live = any(actor.live for actor in actors)
            ready, _ = ray.wait(list(in_flight) + list(starting), num_returns=1,
                                timeout=None if live else PLACEMENT_WAIT_S)
            if not ready:
                raise UsageError(f"no Ray actor could be placed for {PLACEMENT_WAIT_S} s (the cluster has no "
                                 f"free CPU left?)")
            for ref in ready:
                if ref in starting:
                    actor = starting[ref]
                    try:
                        ray.get(ref)
                    except lost as error:
                        failed_starts += 1
                        if failed_starts >= FAILED_STARTS * max(1, workers):
                            raise UsageError(f"Ray actors die before loading the model ({_how(error)})") from None
                        drop(actor, _how(error))
                        continue
                    except ray.exceptions.RayTaskError as error:  # the model did not load there
                        raise UsageError(f"a Ray actor cannot load the model: {error.cause or error}") from None
                    actor.live, failed_starts = True, 0
                    continue
                if ref not in in_flight:
                    continue  # its actor was dropped in this same round
                item, actor = in_flight[ref]
                try:
                    row = ray.get(ref)
                except lost as error:
                    drop(actor, _how(error))
                    continue
                del in_flight[ref]
                actor.refs.remove(ref)
                actor.alone = False
                on_row(blame.finished(row, item))
    finally:
        for actor in actors:  # also ends the tasks still in flight (Ctrl-C)
            ray.kill(actor.handle, no_restart=True)
