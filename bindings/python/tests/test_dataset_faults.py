"""Dataset runs under faults (issue 20): a second run on the same output directory, a full disk,
short writes, SIGTERM, worker processes killed or killing themselves, an unguarded script, odd
inputs (FIFOs, symlink loops, the output directory as input, planted manifest rows, huge
pictures), and summary.json after a resume."""
from __future__ import annotations

import collections
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
from PIL import Image

from dataset_helpers import manifest_rows, ordinary_images, run_cli, temporaries
from scorecam.dataset import _files, _images, _inputs, _manifest, _retry, _run, explain_dataset
from scorecam.errors import UsageError


def _explain(inputs, out, **options):
    options = {"cskip": 16, "workers": 1, "progress": False, **options}
    return explain_dataset(inputs, out, **options)


# ---- R3: one run per output directory ----------------------------------------------------------

def test_a_second_run_on_the_same_output_is_refused_and_the_lock_dies_with_its_holder(tmp_path):
    ordinary_images(tmp_path / "in", 2)
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import pathlib, sys, time
        from scorecam.dataset._files import OutputLock
        lock = OutputLock(pathlib.Path({str(out)!r}))
        print("held", flush=True)
        time.sleep(600)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = run_cli("explain", tmp_path / "in", "-o", out, "--cskip", "16", "--workers", "1")
        assert result.returncode == 2, result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert f"pid {holder.pid} on host {socket.gethostname()}" in line and str(out) in line
        assert not (out / "manifest.jsonl").exists()
        with pytest.raises(UsageError, match="another run is writing"):  # the Python API too
            _explain([tmp_path / "in"], out)
    finally:
        holder.send_signal(signal.SIGKILL)  # the kernel releases the flock
        holder.wait()
    summary = _explain([tmp_path / "in"], out)
    assert (summary.ok, summary.failed) == (2, 0) and len(manifest_rows(out)) == 2


# ---- R4: manifest rows whole or absent; a full disk stops the run -----------------------------

def test_short_writes_keep_rows_whole_and_a_full_disk_stops_the_run_cleanly(tmp_path, monkeypatch, capsys):
    from scorecam import cli

    ordinary_images(tmp_path / "in", 4)
    out = tmp_path / "out"
    real_write = os.write
    rows_started = collections.Counter()

    def disk_filling_write(fd, data):
        """A manifest row's first write is short (7 bytes); the third row fills the disk half-way."""
        if bytes(data[:8]) != b'{"key":"':
            return real_write(fd, data)
        rows_started["rows"] += 1
        if rows_started["rows"] == 3:
            real_write(fd, bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, bytes(data[:7]))

    monkeypatch.setattr(os, "write", disk_filling_write)
    status = cli.main(["explain", str(tmp_path / "in"), "-o", str(out), "--cskip", "16", "--workers", "1",
                       "--no-progress", "-q"])
    monkeypatch.undo()
    stderr = capsys.readouterr().err
    assert status == 1
    (line,) = [text for text in stderr.splitlines() if text.strip()]
    assert "disk full" in line and "rerun the same command to resume" in line and "Traceback" not in stderr
    rows = manifest_rows(out)  # every line whole: the torn third row was rolled back
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert temporaries(out) == []

    # A worker that cannot write an overlay (disk full) stops the run too, with no error row.
    def full(path, write):
        raise _files.full_error(path)

    monkeypatch.setattr(_images, "atomic", full)
    with pytest.raises(_files.DiskFull):
        _explain([tmp_path / "in"], out)
    monkeypatch.undo()
    assert len(manifest_rows(out)) == 2

    summary = _explain([tmp_path / "in"], out)  # the rerun completes
    assert (summary.ok, summary.failed, summary.skipped) == (2, 0, 2)
    assert sorted(r["key"] for r in manifest_rows(out)) == [f"image_{i:02d}" for i in range(4)]


# ---- R7: summary.json adds up after a resume; "1 class" ----------------------------------------

def test_summary_counts_add_up_after_a_resume_and_one_class_is_singular(tmp_path, capsys):
    ordinary_images(tmp_path / "in", 2)
    out = tmp_path / "out"
    _explain([tmp_path / "in"], out, metrics=True)
    summary = _explain([tmp_path / "in"], out, metrics=True, verbose=True)
    assert (summary.ok, summary.skipped) == (0, 2)
    document = json.loads((out / "summary.json").read_text())
    assert (document["images"], document["ok"], document["failed"]) == (2, 2, 0)
    assert document["this_run"] == {"ok": 0, "failed": 0, "skipped": 2}
    assert document["metrics"]["average_drop"]["n"] == 2
    _explain([tmp_path / "in"], out, overwrite=True, verbose=True)
    printed = capsys.readouterr().out
    assert "| 1 class," in printed and "1 classes" not in printed


# ---- I1, I5: only regular files, a pixel limit ------------------------------------------------

def test_a_fifo_and_a_huge_picture_get_error_rows_without_waiting(tmp_path):
    images = tmp_path / "in"
    ordinary_images(images, 1)
    os.mkfifo(images / "pipe.png")  # nothing ever writes to it
    Image.new("1", (8000, 8000)).save(images / "huge.png")  # 64 MP, a few kB on disk
    Image.new("RGB", (300, 200)).save(images / "small.png")
    result = run_cli("explain", images, "-o", tmp_path / "out", "--cskip", "16", "--workers", "1",
                     "--max-pixels", "50000", timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    rows = {r["key"]: r for r in manifest_rows(tmp_path / "out")}
    assert rows["pipe"]["error"] == "not a regular file (a FIFO)"
    assert rows["huge"]["error"] == "too large: 8000x8000 = 64.0 MP, above the limit of 50000 pixels (--max-pixels)"
    assert rows["small"]["error"].startswith("too large: 300x200 = 60000 pixels")
    assert rows["image_00"]["status"] == "ok"  # 96x64
    with pytest.raises(_images.TooLarge, match="64.0 MP, above the limit of 50.0 MP"):
        _images.read_image(images / "huge.png")  # the default limit, before decoding


def test_worker_count_allows_for_the_largest_picture():
    assert _run.default_workers(1000, max_pixels=10**12) == 1
    assert _run.default_workers(1000, max_pixels=1) >= _run.default_workers(1000)


# ---- I2, I3: symlink loops, the output directory as input -------------------------------------

def test_symlink_loops_are_walked_once_and_files_taken_once_by_real_path(tmp_path):
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    for name in ("a.png", "sub/b.png", "../elsewhere/c.png"):
        (root / name).write_bytes(b"")
    (root / "loop").symlink_to(".")
    (root / "sub" / "up").symlink_to("..")
    (root / "linked").symlink_to(tmp_path / "elsewhere")   # a real folder elsewhere: followed
    (root / "alias.png").symlink_to("a.png")                 # the same file twice: taken once
    warnings = []
    items = _inputs.expand([root, root / "a.png"], warn=warnings.append)
    assert [i.key for i in items] == ["a", "linked/c", "sub/b"]
    assert len(warnings) == 2 and all("a link to a folder already searched" in w for w in warnings)


def test_the_output_directory_is_never_an_input(tmp_path):
    images = tmp_path / "in"
    ordinary_images(images, 2)
    warnings = []
    assert _inputs.expand([images, images / "image_00.png"], exclude=images, warn=warnings.append) == []
    assert warnings == [f"3 inputs inside the output directory {images} skipped (a run never explains its own outputs)"]
    with pytest.raises(UsageError, match="no images"):
        _explain([images], images)
    out = images / "out"  # below an input folder, named or reached through a link
    (images / "link").symlink_to("out")
    first = _explain([images], out)
    again = _explain([images, out], out)
    assert (first.ok, again.total, again.skipped) == (2, 2, 2)


# ---- I4: manifest rows that do not validate ----------------------------------------------------

def test_planted_and_hand_edited_manifest_rows_are_ignored_with_one_warning(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "good.png").write_bytes(b"x")
    (tmp_path / "outside.png").write_bytes(b"x")
    (out / "escape.png").symlink_to(tmp_path / "outside.png")
    row = {"status": "ok", "config": "c"}
    lines = [json.dumps({**row, "key": "good", "files": ["good.png"]}),
             json.dumps({**row, "key": "five", "files": 5}),
             json.dumps({**row, "key": "metrics", "files": ["good.png"], "metrics": {"insertion": ["x"]}}),
             "[null]",
             "[" * 100_000 + "]" * 100_000,
             json.dumps({**row, "key": "absolute", "files": [str(tmp_path / "outside.png")]}),
             json.dumps({**row, "key": "dots", "files": ["../outside.png"]}),
             json.dumps({**row, "key": "link", "files": ["escape.png"]})]
    (out / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    warnings = []
    manifest = _manifest.Manifest(out)
    done, kept = manifest.prepare(["good", "five", "metrics", "absolute", "dots", "link"], "c", False,
                                  warn=warnings.append)
    assert done == {"good"} and [r["key"] for r in kept] == ["good"]
    assert len(warnings) == 1 and "4 lines that are not rows of this runner ignored" in warnings[0]
    assert [r["key"] for r in manifest_rows(out)] == ["good"]


# ---- the retry rule ----------------------------------------------------------------------------

def test_blame_charges_only_an_image_alone_on_its_worker():
    rows = []
    config = _run.Config(out_dir="/nowhere")
    blame = _retry.Blame(config, rows.append)
    a, b = _inputs.Item("a", "a.png"), _inputs.Item("b", "b.png")
    pending = collections.deque()
    for item in (a, b):
        blame.started(item)
    blame.worker_died([a, b], pending, "killed by signal 9 (SIGKILL)")  # together: no one charged
    assert list(pending) == [a, b] and rows == [] and blame.runs_alone(a) and blame.runs_alone(b)
    pending.clear()
    blame.started(a)
    blame.worker_died([a], pending, "killed by signal 9 (SIGKILL)")     # alone once: tried again
    assert list(pending) == [a] and rows == []
    pending.clear()
    blame.started(a)
    blame.worker_died([a], pending, _retry.describe_exit(-signal.SIGKILL))  # alone twice: its row
    assert not pending and len(rows) == 1 and rows[0]["key"] == "a" and rows[0]["attempts"] == 3
    assert rows[0]["error"] == ("the worker process died 2 times while explaining this image alone "
                                "(last: killed by signal 9 (SIGKILL))")
    blame.started(b)
    assert blame.finished({"key": "b"}, b) == {"key": "b", "attempts": 2}
    assert _retry.describe_exit(3) == "exit code 3"


# ---- R2, R5, R6: real worker processes ---------------------------------------------------------

# Loaded by every worker process (PYTHONPATH): a picture of width 37 kills the worker that opens
# it, every time; widths 104, 112 and 120 (image_01..03) kill it the first time only.
_KILLER = '''
import os, signal
import PIL.Image

_open = PIL.Image.open

def _open_and_maybe_die(*args, **kwargs):
    image = _open(*args, **kwargs)
    width = image.size[0]
    marker = os.path.join(os.environ["SCORECAM_TEST_MARKERS"], str(width))
    if width == 37 or width in (104, 112, 120) and not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return image

PIL.Image.open = _open_and_maybe_die
'''


@pytest.mark.slow
def test_killed_workers_blame_only_the_image_that_kills_them(tmp_path):
    images = tmp_path / "in"
    ordinary_images(images, 6)
    Image.new("RGB", (37, 41)).save(images / "poison.png")
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(_KILLER)
    (tmp_path / "markers").mkdir()
    env = {**os.environ, "PYTHONPATH": f"{tmp_path / 'hook'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "SCORECAM_TEST_MARKERS": str(tmp_path / "markers")}
    result = run_cli("explain", images, "-o", tmp_path / "out", "--cskip", "16", "--workers", "2", "-q",
                     env=env)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    rows = {r["key"]: r for r in manifest_rows(tmp_path / "out")}
    assert len(rows) == 7 == len(manifest_rows(tmp_path / "out"))
    assert rows["poison"]["error"] == ("the worker process died 2 times while explaining this image alone "
                                       "(last: killed by signal 9 (SIGKILL))")
    for i in range(6):
        row = rows[f"image_{i:02d}"]
        assert row["status"] == "ok", row
        assert row.get("attempts") == (2 if i in (1, 2, 3) else None), row  # killed once: tried again
    assert sorted(os.listdir(tmp_path / "markers")) == ["104", "112", "120", "37"]
    assert temporaries(tmp_path / "out") == []


@pytest.mark.slow
def test_sigterm_stops_cleanly_with_a_resume_hint(tmp_path):
    ordinary_images(tmp_path / "in", 6)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "scorecam", "explain", str(tmp_path / "in"), "-o", str(out),
               "--cskip", "16", "--workers", "2"]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        manifest = out / "manifest.jsonl"
        while run.poll() is None and not (manifest.exists() and manifest.read_bytes().count(b"\n") >= 1):
            time.sleep(0.005)
        run.send_signal(signal.SIGTERM)
        stdout, stderr = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 143, stderr
    assert "Traceback" not in stderr and "resource_tracker" not in stderr
    assert "terminated:" in stderr and "To resume, rerun the same command" in stderr
    rows = manifest_rows(out)
    assert 1 <= len(rows) < 6
    assert temporaries(out) == []
    assert run_cli(*command[3:]).returncode == 0
    assert len(manifest_rows(out)) == 6


@pytest.mark.slow
def test_an_unguarded_script_with_a_pool_fails_once_before_any_image(tmp_path):
    ordinary_images(tmp_path / "in", 2)
    script = tmp_path / "unguarded.py"
    script.write_text("from scorecam.dataset import explain_dataset\n"
                      "summary = explain_dataset(['in'], 'out', cskip=16, workers=2, progress=False)\n"
                      "print(summary.ok)\n")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 1
    assert result.stderr.count('if __name__ == "__main__":') == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("scorecam.errors.UsageError: the script starts worker")
    assert not (tmp_path / "out" / "manifest.jsonl").exists()
