"""Usage errors of `python -m scorecam explain`: status 2, one line on stderr, no traceback, and
no work done (the output directory is checked before any image is read)."""
from __future__ import annotations

import pytest

from conftest import SAMPLE_IMAGE
from dataset_helpers import run_cli


def _default_model_path():
    from scorecam.models import efficientnet_lite0

    return efficientnet_lite0().path


CASES = {
    "top 0": (["--top", "0"], "--top: must be at least 1"),
    "unknown option": (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    "bad preset": (["--preset", "nope"], "invalid choice: 'nope'"),
    "workers 0": (["--workers", "0"], "--workers: must be at least 1"),
    "class outside the model": (["--class", "1000"], "class 1000 is outside the model's 1000 classes"),
    "model missing": (["--model", "no-such-model.onnx", "--layer", "x"], "model file not found: no-such-model.onnx"),
    "model without layer": (["--model", "{model}"], "needs 'layer' (--layer: the tensor to explain"),
    "layer not found": (["--model", "{model}", "--layer", "no_such_layer"], "has no tensor named 'no_such_layer'"),
    "list file missing": (["--list", "no-such-list.txt"], "cannot read the list file no-such-list.txt"),
    "cskip 0": (["--cskip", "0"], "--cskip: must be at least 1"),
    "ray unreachable": (["--ray=127.0.0.1:1"], "cannot reach the Ray cluster at 127.0.0.1:1"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_usage_error_is_one_line_and_status_2(tmp_path, case):
    args, message = CASES[case]
    if "{model}" in args:
        args = [a.replace("{model}", str(_default_model_path())) for a in args]
    out = tmp_path / "out"
    result = run_cli("explain", SAMPLE_IMAGE, "-o", out, *args, cwd=tmp_path, timeout=300)
    assert result.returncode == 2, (result.stdout, result.stderr)
    # (a model without a card adds its warning line)
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("warning: no model card")]
    assert len(lines) == 1 and "error:" in lines[0] and message in lines[0], result.stderr
    assert not (out / "manifest.jsonl").exists()


def test_unwritable_output_directory_is_refused_before_any_work(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run_cli("explain", SAMPLE_IMAGE, "-o", blocker / "out", cwd=tmp_path)
    assert result.returncode == 2
    # (a model without a card adds its warning line)
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("warning: no model card")]
    assert len(lines) == 1 and "output directory" in lines[0] and "not writable" in lines[0], result.stderr
    assert result.stdout == ""


def test_no_images(tmp_path):
    (tmp_path / "empty").mkdir()
    for args in (["explain", "-o", tmp_path / "out"], ["explain", tmp_path / "empty", "-o", tmp_path / "out"]):
        result = run_cli(*args)
        assert result.returncode == 2 and "no images" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_version():
    import scorecam

    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"scorecam {scorecam.__version__}"
