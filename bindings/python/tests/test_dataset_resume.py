"""A dataset run killed with SIGKILL mid-run, then rerun: complete, each image once, nothing left
half-written."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from dataset_helpers import manifest_rows, ordinary_images, run_cli, temporaries

# Real worker processes (and a local Ray): the whole suite runs these, the quick tier does not.
pytestmark = pytest.mark.slow


def test_rerun_after_sigkill_completes_each_image_once(tmp_path):
    images = ordinary_images(tmp_path / "in", 6)
    out = tmp_path / "out"
    manifest = out / "manifest.jsonl"
    command = [sys.executable, "-m", "scorecam", "explain", str(tmp_path / "in"), "-o", str(out),
               "--cskip", "16", "--workers", "1", "--save-maps"]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while run.poll() is None and not (manifest.exists() and manifest.read_bytes().count(b"\n") >= 1):
            time.sleep(0.005)
        os.kill(run.pid, signal.SIGKILL)
    finally:
        run.wait(timeout=60)
    assert run.returncode == -signal.SIGKILL
    first = manifest_rows(out)
    assert 1 <= len(first) < len(images), "the run was not killed mid-way"
    # What a kill during a write leaves: a torn last row and a temporary file.
    with open(manifest, "ab") as handle:
        handle.write(b'{"key": "image_05", "status": "o')
    (out / ".image_05_1_x.png.abcd.scorecam-tmp").write_bytes(b"partial")

    result = run_cli(*command[3:])
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{len(images) - len(first)} ok, 0 failed, {len(first)} already done" in result.stdout
    rows = manifest_rows(out)
    assert sorted(r["key"] for r in rows) == sorted(p.stem for p in images)  # each exactly once
    assert all(r["status"] == "ok" for r in rows)
    assert rows[: len(first)] == first  # the first run's rows stay as they were
    for row in rows:
        assert all((out / name).is_file() for name in row["files"])
    assert temporaries(out) == []

    # A third run has nothing to do; --overwrite redoes everything, still one row each.
    result = run_cli(*command[3:])
    assert result.returncode == 0 and f"0 ok, 0 failed, {len(images)} already done" in result.stdout
    result = run_cli(*command[3:], "--overwrite")
    assert result.returncode == 0 and f"{len(images)} ok, 0 failed" in result.stdout
    assert sorted(r["key"] for r in manifest_rows(out)) == sorted(p.stem for p in images)


def test_ctrl_c_stops_cleanly_with_a_resume_hint(tmp_path):
    ordinary_images(tmp_path / "in", 6)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "scorecam", "explain", str(tmp_path / "in"), "-o", str(out),
               "--cskip", "16", "--workers", "2"]
    # A new session, as a terminal's Ctrl-C: SIGINT reaches the driver and its workers together.
    # A shell that starts the tests in the background ignores SIGINT, and children inherit that:
    # the run gets the default disposition back, as it would from a terminal.
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        manifest = out / "manifest.jsonl"
        while run.poll() is None and not (manifest.exists() and manifest.read_bytes().count(b"\n") >= 1):
            time.sleep(0.005)
        os.killpg(run.pid, signal.SIGINT)
        stdout, stderr = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "To resume, rerun the same command" in stderr and str(out) in stderr
    rows = manifest_rows(out)
    assert 1 <= len(rows) < 6
    for row in rows:
        assert all((out / name).is_file() for name in row["files"])
    assert temporaries(out) == []
