"""Explainer against the independent torch reference of each formula it claims."""
import numpy as np
import pytest
import torch

import scorecam
from reference import score_cam, upsample


def relative_error(actual, expected) -> float:
    expected = np.asarray(expected)
    return float(np.abs(np.asarray(actual) - expected).max() / max(np.abs(expected).max(), 1e-30))


def reference(x, activations, model, target, **options):
    torch_model = lambda batch: torch.from_numpy(model(batch.numpy()))  # noqa: E731
    score = options.pop("score", lambda out: out[:, target])
    result, channels, weights = score_cam(torch.from_numpy(x)[None], torch.from_numpy(activations)[None],
                                          torch_model, score, **options)
    return result.numpy(), channels.numpy(), weights.numpy()


def test_seed_formula(small_case):
    x, activations, model = small_case
    with scorecam.Explainer(model) as explainer:
        for target in (0, 3, 6):
            expected, _, weights = reference(x, activations, model, target)
            assert relative_error(explainer.explain(x, activations, target), expected) < 1e-4
            assert relative_error(explainer.details().weights[:, 0], weights) < 1e-4


@pytest.mark.parametrize("selection", ["max", "std"])
def test_channel_selection(small_case, selection):
    x, activations, model = small_case
    expected, channels, _ = reference(x, activations, model, 2, cskip=5, selection=selection)
    with scorecam.Explainer(model, selection=selection, selection_count=5) as explainer:
        assert relative_error(explainer.explain(x, activations, 2), expected) < 1e-4
        np.testing.assert_array_equal(explainer.details().channels, channels)


def test_cskip_keyword_is_per_call(small_case):
    x, activations, model = small_case
    expected, _, _ = reference(x, activations, model, 1, cskip=4)
    with scorecam.Explainer(model) as explainer:
        assert relative_error(explainer.explain(x, activations, 1, cskip=4), expected) < 1e-4
        assert explainer.get_param("selection") == "all"
        explainer.explain(x, activations, 1)
        assert len(explainer.details().channels) == activations.shape[0]


@pytest.mark.parametrize("mode", ["bilinear", "bilinear_align_corners"])
def test_upsampling_modes(small_case, mode):
    x, activations, model = small_case
    expected, _, _ = reference(x, activations, model, 5, mode=mode)
    with scorecam.Explainer(model, upsample=mode) as explainer:
        assert relative_error(explainer.explain(x, activations, 5), expected) < 1e-4


def test_raw_weights_baseline_and_probability_scores(small_case):
    x, activations, model = small_case
    probability = lambda out: torch.softmax(out, dim=1)[:, 4]  # noqa: E731
    expected, _, _ = reference(x, activations, model, 4, weighting="raw", baseline=0.25, score=probability)
    with scorecam.Explainer(model, weighting="raw", baseline=0.25, score="softmax") as explainer:
        assert relative_error(explainer.explain(x, activations, 4), expected) < 1e-4
        details = explainer.details()
        assert np.isfinite(details.base_scores).all()
        np.testing.assert_allclose(details.weights[:, 0], details.scores[:, 0] - details.base_scores[0], atol=1e-6)


def test_normalized_map(small_case):
    x, activations, model = small_case
    with scorecam.Explainer(model, normalize_map=True) as explainer:
        result = explainer.explain(x, activations, 0)
    expected, _, _ = reference(x, activations, model, 0)
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    assert result.min() == 0 and result.max() == pytest.approx(1)
    assert relative_error(result, expected) < 1e-4


def test_many_targets_one_set_of_forwards(small_case):
    x, activations, model = small_case
    with scorecam.Explainer(model, output_dim=7) as explainer:
        together = explainer.explain(x, activations, [6, 0, 2])
        assert together.shape == (3, 20, 24)
        assert model.images == activations.shape[0]  # every target from the same K forwards
        for index, target in enumerate([6, 0, 2]):
            np.testing.assert_array_equal(explainer.explain(x, activations, target), together[index])


def test_scoring_function_and_batches(small_case):
    x, activations, model = small_case
    contrast = lambda out: np.stack([out[:, 1] - out[:, 0], out[:, 3]], axis=1)  # noqa: E731
    with scorecam.Explainer(model, batch_size=5) as explainer:
        maps = explainer.explain(x, activations, contrast)
        assert maps.shape == (2, 20, 24)
        np.testing.assert_allclose(maps[1], explainer.explain(x, activations, 3), rtol=0, atol=1e-6 * maps[1].max())
        expected, _, _ = reference(x, activations, model, None, score=lambda out: out[:, 1] - out[:, 0])
        assert relative_error(maps[0], expected) < 1e-4
        # A batch of images gives each image its own maps.
        xb = np.stack([x, x[:, ::-1, :].copy()])
        ab = np.stack([activations, activations[:, ::-1, :].copy()])
        batched = explainer.explain(xb, ab, [3])
        assert batched.shape == (2, 1, 20, 24)
        np.testing.assert_array_equal(batched[0, 0], explainer.explain(x, activations, 3))
        np.testing.assert_array_equal(batched[1, 0], explainer.explain(xb[1], ab[1], 3))


def test_masks_match_the_reference(small_case):
    x, activations, model = small_case
    up = upsample(torch.from_numpy(activations)[None], (20, 24))[0].numpy()
    lo = up.min(axis=(1, 2), keepdims=True)
    hi = up.max(axis=(1, 2), keepdims=True)
    with scorecam.Explainer(model) as explainer:
        masks = explainer.masks(activations, (20, 24), [2, 0])
        masked = explainer.masks(activations, (20, 24), [2, 0], x=x)
    np.testing.assert_allclose(masks, ((up - lo) / (hi - lo))[[2, 0]], atol=1e-5)
    np.testing.assert_array_equal(masked, x[None] * masks[:, None])


def test_progress_callback_sees_every_batch_and_can_cancel(small_case):
    x, activations, model = small_case
    seen = []
    with scorecam.Explainer(model, batch_size=5) as explainer:
        explainer.explain(x, activations, 0, progress=lambda done, total: seen.append((done, total)))
        assert seen == [(5, 12), (10, 12), (12, 12)]
        with pytest.raises(scorecam.CancelledError) as error:
            explainer.explain(x, activations, 0, progress=lambda done, total: done < 5)
        assert error.value.status == -8
        # The explainer is still usable afterwards.
        assert explainer.explain(x, activations, 0).shape == (20, 24)


def test_parameters_round_trip(small_case):
    _, _, model = small_case
    with scorecam.Explainer(model, batch_size=7, threads=1, norm_eps=1e-8, upsample="bilinear") as explainer:
        assert explainer.get_param("batch_size") == 7
        assert explainer.get_param("threads") == 1
        assert explainer.get_param("norm_eps") == 1e-8
        assert explainer.get_param("upsample") == "bilinear"
        explainer.set_preset("seed")
        assert explainer.get_param("upsample") == "bicubic"
        assert explainer.get_param("batch_size") == 7


def test_parameter_names_come_from_the_library(small_case):
    """Every SCORECAM_PARAM_<NAME> of the header is the keyword <name>, as the library describes it:
    nothing in the binding lists them."""
    import re

    from conftest import REPO
    from scorecam import _lib

    header = (REPO / "include" / "scorecam.h").read_text()
    enum = re.search(r"enum scorecam_param \{(.*?)\};", header, re.S).group(1)
    declared = {name.lower(): int(number) for name, number in re.findall(r"SCORECAM_PARAM_([A-Z_]+) = (\d+)", enum)}
    table = _lib.param_table()
    assert {name: info.number for name, info in table.items()} == declared
    _, _, model = small_case
    with scorecam.Explainer(model) as explainer:
        for name, info in table.items():
            value = explainer.get_param(name)
            if name in _lib.CHOICES:
                assert _lib.CHOICES[name][value] == info.default
            else:
                assert value == info.default, name
        with pytest.raises(scorecam.ScoreCAMError, match="SCORECAM_PARAM_SELECTION_COUNT"):
            explainer.set_params(selection_count=table["selection_count"].maximum + 1)
        with pytest.raises(TypeError, match="known: batch_size, upsample"):
            explainer.set_params(eps_norm=1e-8)
        with pytest.warns(DeprecationWarning, match="now spelled 'norm_eps'"):
            explainer.set_params(eps=1e-6)
        assert explainer.get_param("norm_eps") == 1e-6
