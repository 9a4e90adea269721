"""Bad input and failing callbacks: clear Python exceptions, nothing leaked, the process alive."""
import os
import resource
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import scorecam
from scorecam import Status


def test_input_types_shapes_and_layout(small_case):
    x, activations, model = small_case
    with scorecam.Explainer(model) as explainer:
        with pytest.raises(TypeError, match="float32"):
            explainer.explain(x.astype(np.float64), activations, 0)
        with pytest.raises(TypeError, match="numpy"):
            explainer.explain(x.tolist(), activations, 0)
        with pytest.raises(ValueError, match="dimensions"):
            explainer.explain(x[0], activations, 0)
        with pytest.raises(ValueError, match="C-contiguous"):
            explainer.explain(x[:, :, ::2], activations, 0)
        with pytest.raises(ValueError, match="C-contiguous"):
            explainer.explain(x, np.asfortranarray(activations), 0)
        with pytest.raises(ValueError, match="both be batched"):
            explainer.explain(x[None], activations, 0)
        with pytest.raises(ValueError, match="2 images"):
            explainer.explain(np.stack([x, x]), activations[None], 0)
        with pytest.raises(TypeError, match="targets"):
            explainer.explain(x, activations, [])
        with pytest.raises(TypeError, match="targets"):
            explainer.explain(x, activations, 1.5)
        # After all of that the explainer still works.
        assert explainer.explain(x, activations, 0).shape == x.shape[1:]


def test_engine_errors_carry_status_and_message(small_case):
    x, activations, model = small_case
    with scorecam.Explainer(model) as explainer:
        with pytest.raises(scorecam.ScoreCAMError, match="outside the model's 7 outputs") as error:
            explainer.explain(x, activations, 7)
        assert error.value.status == Status.INVALID_ARGUMENT
        with pytest.raises(scorecam.ScoreCAMError, match="K'=13") as error:
            explainer.explain(x, activations, 0, cskip=13)
        assert explainer.get_param("selection") == "all"  # the per-call cskip was undone
        bad = x.copy()
        bad[1, 2, 3] = np.nan
        with pytest.raises(scorecam.ScoreCAMError, match="non-finite") as error:
            explainer.explain(bad, activations, 0)
        assert error.value.status == Status.NON_FINITE
        with pytest.raises(scorecam.ScoreCAMError) as error:
            explainer.explain(x, np.ones_like(activations), 0)
        assert error.value.status == Status.DEGENERATE
        with pytest.raises(scorecam.ScoreCAMError, match="BATCH_SIZE"):
            explainer.set_params(batch_size=0)
        with pytest.raises(TypeError, match="unknown parameter"):
            explainer.set_params(batchsize=3)
        with pytest.raises(ValueError, match="bicubic"):
            explainer.set_params(upsample="nearest")
        with pytest.raises(scorecam.ScoreCAMError, match="unknown preset"):
            explainer.set_preset("gradcamm")


class Boom(Exception):
    pass


def test_callback_exceptions_come_back_unchanged(small_case):
    x, activations, model = small_case
    raised = Boom("from forward")
    calls = []

    def failing_forward(batch):
        calls.append(len(batch))
        if len(calls) == 3:
            raise raised
        return model(batch)

    with scorecam.Explainer(failing_forward, batch_size=4, output_dim=7) as explainer:
        with pytest.raises(Boom) as error:
            explainer.explain(x, activations, 1)
        assert error.value is raised
        assert calls == [4, 4, 4]  # the run stopped at the failing batch

    def failing_score(outputs):
        if len(outputs) > 1:
            raise KeyError("from scoring")
        return outputs[:, 0]

    with scorecam.Explainer(model) as explainer:
        with pytest.raises(KeyError, match="from scoring"):
            explainer.explain(x, activations, failing_score)
        assert explainer.explain(x, activations, 2).shape == x.shape[1:]


def test_forward_returning_garbage(small_case):
    x, activations, model = small_case
    with scorecam.Explainer(lambda batch: model(batch)[:, :3], output_dim=7) as explainer:
        with pytest.raises(ValueError, match=r"forward returned shape \(\d+, 3\), expected"):
            explainer.explain(x, activations, 1)

    def nan_forward(batch):
        out = model(batch)
        out[-1, 0] = np.nan
        return out

    with scorecam.Explainer(nan_forward, output_dim=7) as explainer:
        with pytest.raises(scorecam.ScoreCAMError, match="forward callback's outputs") as error:
            explainer.explain(x, activations, 1)
        assert error.value.status == Status.NON_FINITE
    with pytest.raises(ValueError, match=r"\(N, \.\.\.\) outputs, got shape \(3,\)"):
        scorecam.Explainer(lambda batch: np.zeros(3)).explain(x, activations, 0)
    with pytest.raises(TypeError, match="callable"):
        scorecam.Explainer("not a model")


def test_keyboard_interrupt_in_a_callback_ends_the_run(small_case):
    x, activations, model = small_case

    def interrupted(batch):
        raise KeyboardInterrupt

    with scorecam.Explainer(interrupted, output_dim=7) as explainer:
        with pytest.raises(KeyboardInterrupt):
            explainer.explain(x, activations, 0)


def test_ctrl_c_cancels_a_long_run():
    script = textwrap.dedent("""
        import signal, sys, time
        import numpy as np
        import scorecam
        # A shell that starts the tests in the background has SIGINT ignored, and children inherit that.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        calls = []
        def slow(batch):
            if not calls:
                print("running", flush=True)  # the run has started: now send SIGINT
            calls.append(1)
            time.sleep(0.02)
            return batch.reshape(len(batch), -1)[:, :4]
        x = np.random.default_rng(0).random((3, 32, 32), dtype=np.float32)
        acts = np.random.default_rng(1).random((5000, 4, 4), dtype=np.float32)
        with scorecam.Explainer(slow, batch_size=1, output_dim=4) as explainer:
            try:
                explainer.explain(x, acts, 0)
            except KeyboardInterrupt:
                print("interrupted", flush=True)
                sys.exit(3)
        """)
    # A shell that starts `make test` in the background ignores SIGINT for its children: restore it.
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert child.stdout.readline().strip() == "running"
    child.send_signal(signal.SIGINT)
    output, _ = child.communicate(timeout=60)
    assert child.returncode == 3 and "interrupted" in output


def test_missing_and_mismatched_library(tmp_path):
    probe = "import scorecam\ntry:\n    scorecam.Explainer(lambda b: b)\nexcept scorecam.LibraryError as e:\n    print(e)\n"
    env = dict(os.environ, SCORECAM_LIBRARY=str(tmp_path / "nope.so"))
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "libscorecam not found" in result.stdout
    not_a_library = tmp_path / "libfake.so"
    not_a_library.write_bytes(b"not an ELF file")
    env["SCORECAM_LIBRARY"] = str(not_a_library)
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "cannot load" in result.stdout
    # A library of another version is refused by number.
    mismatch = probe.replace("import scorecam\n", "import scorecam, scorecam._lib as L\nL.VERSION_NUMBER += 1\n")
    result = subprocess.run([sys.executable, "-c", mismatch], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "but this binding needs" in result.stdout


def test_close_twice_and_use_after_close(small_case):
    x, activations, model = small_case
    explainer = scorecam.Explainer(model)
    explainer.close()
    explainer.close()
    with pytest.raises(ValueError, match="closed"):
        explainer.explain(x, activations, 0)


def test_failing_runs_do_not_leak(small_case):
    x, activations, model = small_case

    def failing(batch):
        raise Boom

    def rss_kb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    for _ in range(50):  # warm up allocator pools
        with scorecam.Explainer(failing, output_dim=7) as explainer, pytest.raises(Boom):
            explainer.explain(x, activations, 0)
    before = rss_kb()
    for _ in range(1000):
        with scorecam.Explainer(failing, output_dim=7) as explainer, pytest.raises(Boom):
            explainer.explain(x, activations, 0)
    # Each run allocates two batch buffers of 12 masked images (~70 KB): a leak of either
    # would add ~70 MB over 1000 runs.
    assert rss_kb() - before < 10_000
