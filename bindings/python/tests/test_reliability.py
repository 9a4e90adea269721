"""Issue 10's findings from Python: each once killed the interpreter or went silently wrong. The
crash-prone ones run in a child interpreter, so a regression fails this test instead of pytest."""
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import scorecam
from scorecam import Status


def run_child(body: str) -> str:
    """Runs `body` in a fresh interpreter; it must exit 0 (not die of a signal)."""
    script = "import numpy as np\nimport scorecam\nfrom scorecam import Status\n" + textwrap.dedent(body)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"child exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_huge_parameters_and_sizes_raise():
    output = run_child("""
        model = lambda b: b.reshape(len(b), -1)[:, :3]
        x = np.ones((1, 4, 4), np.float32)
        acts = np.arange(8, dtype=np.float32).reshape(2, 2, 2)
        # F1: integral values beyond 2^63 trapped while the error message was built.
        for name, value in [("batch_size", 10**19), ("seed", -10**300), ("threads", 2**64)]:
            try:
                scorecam.Explainer(model, **{name: value})
            except scorecam.ScoreCAMError as error:
                assert error.status == Status.INVALID_ARGUMENT, error
                print(name, "refused")
        try:
            scorecam.Explainer(model, seed=10**400)  # beyond any double
        except ValueError as error:
            assert "range" in str(error)
        # F7: float32 parameters beyond float32's range became inf.
        try:
            scorecam.Explainer(model, baseline=1e39)
        except scorecam.ScoreCAMError as error:
            print("baseline refused")
        # F4: output_dim = 2^62 overflowed batch x D.
        with scorecam.Explainer(model, output_dim=2**62) as explainer:
            try:
                explainer.explain(x, acts, 0)
            except scorecam.ScoreCAMError as error:
                assert error.status in (Status.SHAPE, Status.OUT_OF_MEMORY), error
                print("output_dim refused")
        with scorecam.Explainer(model, output_dim=3) as explainer:
            # F2: no channels skipped every size check (4 TB asked for a 2^20 x 2^20 mask).
            assert explainer.masks(acts, (2**20, 2**20), channels=[]).shape == (0, 2**20, 2**20)
            print("no channels ok")
        """)
    assert output.split("\n")[:6] == ["batch_size refused", "seed refused", "threads refused", "baseline refused",
                                      "output_dim refused", "no channels ok"]


def test_a_forward_may_keep_its_batch():
    # F10: the forward got a view of the engine's batch buffer, freed when the run ended.
    output = run_child("""
        kept = []
        def hoarding(batch):
            kept.append(batch)
            return batch.reshape(len(batch), -1)[:, :3] * 1.0
        rng = np.random.default_rng(0)
        x = rng.random((2, 8, 8), dtype=np.float32)
        acts = rng.random((6, 2, 2), dtype=np.float32)
        with scorecam.Explainer(hoarding, batch_size=2, output_dim=3) as explainer:
            explainer.explain(x, acts, 1)
            masks = explainer.masks(acts, (8, 8), x=x)
        np.ones(10**6)  # reuse freed memory
        assert len(kept) == 3
        for i, batch in enumerate(kept):  # each batch still holds its own masked images
            np.testing.assert_allclose(batch, masks[2 * i:2 * i + 2], rtol=1e-6, atol=1e-6)
        print("kept", float(sum(b.sum() for b in kept)) > 0)
        """)
    assert "kept True" in output


def test_arguments_that_were_silently_misread(small_case):
    x, activations, model = small_case
    with scorecam.Explainer(model) as explainer:
        # Masked arrays: the engine read the data under the mask.
        with pytest.raises(TypeError, match="masked array"):
            explainer.explain(np.ma.masked_array(x, mask=x > 0.5), activations, 0)
        # channels=[1.9] was truncated to 1.
        with pytest.raises(TypeError, match="channels must be integers"):
            explainer.masks(activations, x.shape[1:], channels=[1.9])
        # A uint64 target 2^64 - 1 was reported as class -1.
        with pytest.raises(ValueError, match="18446744073709551615"):
            explainer.explain(x, activations, np.array([2**64 - 1], dtype=np.uint64))
        assert explainer.explain(x, activations, np.array([3], dtype=np.uint64)).shape == (1,) + x.shape[1:]


def test_one_call_at_a_time(small_case):
    x, activations, model = small_case
    explainer = scorecam.Explainer(model)

    def reentrant(batch):
        explainer.explain(x, activations, 0)  # into its own Explainer, mid-run
        return model(batch)

    with scorecam.Explainer(reentrant, output_dim=7) as outer:
        explainer = outer
        with pytest.raises(RuntimeError, match="already running"):
            outer.explain(x, activations, 0)
        # Another thread, while a call runs.
        started, release, errors = threading.Event(), threading.Event(), []

        def slow(batch):
            started.set()
            release.wait(30)
            return model(batch)

        with scorecam.Explainer(slow, output_dim=7) as shared:
            worker = threading.Thread(target=lambda: shared.explain(x, activations, 0))
            worker.start()
            assert started.wait(30)
            try:
                shared.explain(x, activations, 0)
            except RuntimeError as error:
                errors.append(error)
            release.set()
            worker.join(30)
        assert len(errors) == 1 and "another thread" in str(errors[0])
        # Both explainers still work afterwards.
        explainer = scorecam.Explainer(model)
        assert outer.explain(x, activations, 0).shape == x.shape[1:]
