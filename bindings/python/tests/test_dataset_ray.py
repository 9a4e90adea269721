"""Ray, local, 2 CPUs: the same maps as the local pool, and a worker process killed mid-run does
not lose or duplicate an image. One Ray session serves both tests."""
from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import ray  # installed by `make test` (Makefile: .ray-deps)

from dataset_helpers import manifest_rows, ordinary_images, saved_maps, temporaries
from scorecam.dataset import explain_dataset

# Real worker processes (and a local Ray): the whole suite runs these, the quick tier does not.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ray-images")
    ordinary_images(folder, 4)
    return folder


def _run(images, out, **options):
    return explain_dataset([images], out, cskip=16, save_maps=True, progress=False, **options)


def test_ray_maps_equal_the_local_pool(local_ray, images, tmp_path):
    pool = _run(images, tmp_path / "pool", workers=2)
    on_ray = _run(images, tmp_path / "ray", workers=2, ray_address="local")
    assert (pool.ok, on_ray.ok, on_ray.failed, on_ray.backend) == (4, 4, 0, "ray")
    expected, got = saved_maps(tmp_path / "pool"), saved_maps(tmp_path / "ray")
    assert sorted(expected) == sorted(got) and len(got) == 4
    for name in expected:
        assert np.array_equal(expected[name], got[name]), name
    rows = manifest_rows(tmp_path / "ray")
    assert sorted(r["key"] for r in rows) == sorted(r["key"] for r in manifest_rows(tmp_path / "pool"))
    assert all(r["worker"]["pid"] != os.getpid() for r in rows)


def test_ray_worker_killed_mid_run_still_completes_each_image_once(local_ray, images, tmp_path):
    killed = []

    def kill_first_worker(row):
        if not killed:
            killed.append(row["worker"]["pid"])
            os.kill(row["worker"]["pid"], signal.SIGKILL)

    out = tmp_path / "out"
    summary = _run(images, out, workers=2, ray_address="local", on_row=kill_first_worker)
    assert (summary.ok, summary.failed) == (4, 0)
    rows = manifest_rows(out)
    assert sorted(r["key"] for r in rows) == sorted(p.stem for p in images.iterdir())
    assert all(r["status"] == "ok" for r in rows)
    for row in rows:
        assert all((out / name).is_file() for name in row["files"])
    assert temporaries(out) == []
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0], 0)  # it really died
    assert any(r["worker"]["pid"] != killed[0] for r in rows[1:])
