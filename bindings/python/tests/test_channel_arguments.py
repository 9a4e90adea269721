"""`channels=` and `set_channels()` (issue 20, A3): only integers are channel indices (floats were
truncated, strings parsed, bools and 2-D lists taken), and a per-call `cskip=` / `channels=` puts
back exactly the parameters and the channel list set before, whether the call succeeds or fails."""
import numpy as np
import pytest

import scorecam


@pytest.mark.parametrize("channels, error, match", [
    ([0.9, 1.9], TypeError, "must be integers, got float64"),
    (np.array([0.0, 1.0]), TypeError, "must be integers, got float64"),
    (["1", "2"], TypeError, "must be integers"),
    ("12", TypeError, "must be integers"),
    ([True, False], TypeError, "must be integers"),
    ([True, 2], TypeError, "got a bool"),
    (np.array([1, 0], dtype=bool), TypeError, "must be integers"),
    ([[0, 1], [2, 3]], ValueError, "1-D"),
    (3, ValueError, r"one channel: \[3\]"),
    ([], ValueError, "empty"),
    ([2**70], ValueError, "beyond int64"),
])
def test_only_integer_lists_are_channels(small_case, channels, error, match):
    x, activations, model = small_case
    with scorecam.Explainer(model) as explainer:
        with pytest.raises(error, match=match):
            explainer.set_channels(channels)
        with pytest.raises(error, match=match):
            explainer.explain(x, activations, 0, channels=channels)
        # Nothing was set by either refusal.
        assert explainer._handle.channels is None
        np.testing.assert_array_equal(explainer.explain(x, activations, 0), explainer.explain(x, activations, 0))


def test_integer_lists_of_every_kind_explain_the_same(small_case):
    x, activations, model = small_case
    with scorecam.Explainer(model) as explainer:
        expected = explainer.explain(x, activations, 0, channels=[4, 1, 7])
        for channels in ((4, 1, 7), np.array([4, 1, 7], dtype=np.int32), np.array([4, 1, 7], dtype=np.uint8),
                         [np.int64(4), 1, 7]):
            np.testing.assert_array_equal(explainer.explain(x, activations, 0, channels=channels), expected)
            assert list(explainer.details().channels) == [4, 1, 7]


def test_a_failing_call_leaves_the_parameters_as_they_were(small_case):
    x, activations, model = small_case
    with scorecam.Explainer(model) as explainer:
        params = (explainer.get_param("selection"), explainer.get_param("selection_count"))
        before = explainer.explain(x, activations, 0)
        # The engine refuses the list (listed twice) after cskip was applied: CSKIP 2 stayed.
        with pytest.raises(scorecam.ScoreCAMError, match="listed twice"):
            explainer.explain(x, activations, 0, cskip=2, channels=[1, 1])
        assert (explainer.get_param("selection"), explainer.get_param("selection_count")) == params
        np.testing.assert_array_equal(explainer.explain(x, activations, 0), before)
        assert len(explainer.details().channels) == activations.shape[0]
        # A cskip the engine refuses puts back the selection it had already changed.
        with pytest.raises(scorecam.ScoreCAMError):
            explainer.explain(x, activations, 0, cskip=-1)
        assert (explainer.get_param("selection"), explainer.get_param("selection_count")) == params


def test_a_per_call_list_puts_back_the_list_set_before(small_case):
    x, activations, model = small_case
    with scorecam.Explainer(model) as explainer:
        explainer.set_channels([5, 2])
        kept = explainer.explain(x, activations, 0)
        explainer.explain(x, activations, 0, channels=[1, 3, 6])
        assert list(explainer.details().channels) == [1, 3, 6]
        np.testing.assert_array_equal(explainer.explain(x, activations, 0), kept)
        assert list(explainer.details().channels) == [5, 2]
        # ... and after a per-call list the engine refuses (channel 99 is outside the 12).
        with pytest.raises(Exception, match="outside"):
            explainer.explain(x, activations, 0, channels=[99])
        np.testing.assert_array_equal(explainer.explain(x, activations, 0), kept)
        # cskip with an earlier list: both come back.
        explainer.set_params(selection="std", selection_count=3)
        explainer.explain(x, activations, 0, cskip=4)
        assert (explainer.get_param("selection"), explainer.get_param("selection_count")) == ("std", 3)
        assert list(explainer.details().channels) == [5, 2]  # an explicit list overrides selection


def test_the_kept_list_is_a_copy(small_case):
    x, activations, model = small_case
    mine = np.array([5, 2])
    with scorecam.Explainer(model) as explainer:
        explainer.set_channels(mine)
        mine[:] = [1, 1]  # the caller's array changes; the kept list does not
        explainer.explain(x, activations, 0, channels=[3])
        explainer.explain(x, activations, 0)
        assert list(explainer.details().channels) == [5, 2]
