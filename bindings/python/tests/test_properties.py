"""Runs the Hypothesis properties (hypothesis_cases.py) in a child interpreter: a case that killed
the process would otherwise take the whole test session with it."""
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent


def test_properties_hold_in_a_child_interpreter():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE / "hypothesis_cases.py")],
        cwd=HERE, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    assert "3 passed" in result.stdout
