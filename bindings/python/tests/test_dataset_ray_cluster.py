"""Ray, a real 2-node cluster on this machine (two `ray start` processes, token authentication
on): the second node's raylet is killed mid-run, and every image still completes, on the node
that is left, once (issue 20, R1). And a local `--ray` listens on the loopback interface only (S3).

Ray refuses multi-node clusters on the loopback address (it replaces 127.0.0.1 by the machine's
address, or with RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 refuses a second node), so the two nodes
use the machine's own address, for the few seconds of the test."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap

import pytest
import ray  # noqa: F401 - installed by `make test`; also puts its bundled psutil on sys.path
import psutil  # noqa: E402

from dataset_helpers import manifest_rows, ordinary_images, temporaries

pytestmark = pytest.mark.slow

# Quick node-death detection (Ray's defaults take ~30 s to declare a node dead).
_FAST_HEALTH = {"RAY_health_check_period_ms": "500", "RAY_health_check_timeout_ms": "500",
                "RAY_health_check_failure_threshold": "3", "RAY_health_check_initial_delay_ms": "0"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ray_command() -> list[str]:
    """`ray` run by this interpreter (its workers then run it too, with this scorecam)."""
    return [sys.executable, "-m", "ray.scripts.scripts"]


@pytest.fixture
def two_nodes(tmp_path):
    """(address, environment, the second node's `ray start --block` process)."""
    port = _free_port()
    env = {**os.environ, **_FAST_HEALTH, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    # Ray's socket paths must stay under the 107 characters of a Unix socket name: not in tmp_path.
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    common = ["--num-cpus=1", "--disable-usage-stats", "--block", f"--temp-dir={temp}"]
    nodes = [subprocess.Popen([*_ray_command(), "start", "--head", f"--port={port}", "--include-dashboard=false",
                               *common], env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        address = f"{_own_address()}:{port}"
        _wait_for_nodes(address, env, 1)
        nodes.append(subprocess.Popen([*_ray_command(), "start", f"--address={address}", *common], env=env,
                                      start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_for_nodes(address, env, 2)
        yield address, env, nodes[1]
    finally:
        for node in reversed(nodes):  # each `ray start --block`, and every process it started
            try:
                started = psutil.Process(node.pid).children(recursive=True)
            except psutil.Error:
                started = []
            for process in [psutil.Process(node.pid), *started] if node.poll() is None else started:
                try:
                    process.kill()
                except psutil.Error:
                    pass
            node.wait()
        shutil.rmtree(temp, ignore_errors=True)


def _own_address() -> str:
    """The address Ray picks for this machine (the one a packet to the outside would leave from)."""
    from ray._private.services import node_ip_address_from_perspective

    return node_ip_address_from_perspective()


def _wait_for_nodes(address: str, env: dict, count: int) -> None:
    script = textwrap.dedent(f"""
        import time, ray
        ray.init(address={address!r}, log_to_driver=False, configure_logging=False)
        for _ in range(600):
            if sum(n["Alive"] for n in ray.nodes()) >= {count}:
                break
            time.sleep(0.1)
        else:
            raise SystemExit("nodes missing")
        """)
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=120, capture_output=True)


_DRIVER = '''
import json, os, signal, sys
import ray, psutil  # ray first: it brings psutil
from scorecam.dataset import explain_dataset

images, out, address, node_pid = sys.argv[1:5]
second_node = psutil.Process(int(node_pid)).children(recursive=True)
raylet = [p for p in second_node if p.name() == "raylet"]
assert len(raylet) == 1, raylet
killed = []

def kill_the_second_node(row):
    """At the first row from the second node, whose actor has the next image in flight: its raylet
    and every process it runs die at once, as when a machine is lost."""
    node = psutil.Process(int(node_pid)).children(recursive=True)
    if not killed and row["worker"]["pid"] in {p.pid for p in node}:
        killed.append(row["worker"]["pid"])
        for process in [*raylet, *(p for p in node if p.pid != raylet[0].pid)]:
            try:
                process.kill()
            except psutil.Error:
                pass

summary = explain_dataset([images], out, cskip=16, workers=2, ray_address=address, progress=False,
                          on_row=kill_the_second_node)
print(json.dumps({"ok": summary.ok, "failed": summary.failed, "killed": killed}))
'''


def test_a_node_lost_mid_run_loses_no_image(tmp_path, two_nodes):
    address, env, second = two_nodes
    images = tmp_path / "in"
    ordinary_images(images, 12)
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-c", _DRIVER, str(images), str(out), address, str(second.pid)],
                            env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (report["ok"], report["failed"]) == (12, 0) and report["killed"]
    rows = manifest_rows(out)
    assert sorted(r["key"] for r in rows) == [f"image_{i:02d}" for i in range(12)]  # each once
    assert all(r["status"] == "ok" for r in rows)
    # The image in flight on the lost node was finished by the other one.
    retried = [r for r in rows if r.get("attempts")]
    assert retried and all(r["attempts"] == 2 and r["worker"]["pid"] not in report["killed"] for r in retried)
    assert temporaries(out) == []


_LISTENERS = '''
import json, sys
import ray, psutil  # ray first: it brings psutil
from scorecam.dataset import explain_dataset

seen = []

def listeners(row):
    if seen:
        return
    me = psutil.Process()
    for process in [me, *me.children(recursive=True)]:
        try:
            seen.extend([process.name(), c.laddr.ip, c.laddr.port] for c in process.net_connections("inet")
                        if c.status == psutil.CONN_LISTEN)
        except psutil.Error:
            pass

explain_dataset([sys.argv[1]], sys.argv[2], cskip=16, workers=1, ray_address="local", progress=False,
                on_row=listeners)
print(json.dumps(seen))
'''


def test_a_local_ray_listens_on_loopback_only(tmp_path):
    ordinary_images(tmp_path / "in", 1)
    result = subprocess.run([sys.executable, "-c", _LISTENERS, str(tmp_path / "in"), str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    names = {name for name, _, _ in seen}
    assert "gcs_server" in names and "raylet" in names, seen  # Ray's servers were looked at
    wide = [entry for entry in seen if entry[1] not in ("127.0.0.1", "::ffff:127.0.0.1", "::1")]
    assert wide == [], wide
