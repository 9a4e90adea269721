"""SS-CAM, IS-CAM and the adaptive channel budget on a small linear model."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import scorecam


def relative_error(actual, expected) -> float:
    return float(np.abs(np.asarray(actual) - expected).max() / np.abs(expected).max())


def torchcam_masks(activations, size):
    """torchcam: normalize each channel at activation resolution (eps 1e-8), then upsample."""
    a = torch.from_numpy(activations)[None]
    a = a - a.amin(dim=(2, 3), keepdim=True)
    a = a / (a.amax(dim=(2, 3), keepdim=True) + 1e-8)
    return F.interpolate(a, size, mode="bilinear", align_corners=False)[0].numpy()


def torchcam_map(activations, weights):
    cam = np.maximum((weights[:, None, None] * activations).sum(0), 0)
    cam = cam - cam.min()
    return cam / (cam.max() + 1e-8)


def test_iscam_matches_torchcam_formula(small_case):
    x, activations, model = small_case
    masks = torchcam_masks(activations, x.shape[1:])
    n, target = 10, 3
    base = model(x[None])[0, target]
    scores = np.zeros(len(masks))
    coefficient = 0.0
    for i in range(n):
        coefficient += (i + 1) / n
        scores += model(coefficient * masks[:, None] * x[None])[:, target] - base
    weights = torch.softmax(torch.from_numpy(scores / n), 0).numpy()
    seen = model.images
    with scorecam.Explainer(model, preset="torchcam", method="iscam") as explainer:
        result = explainer.explain(x, activations, target)
        assert result.shape == activations.shape[1:]  # torchcam maps stay at activation size
        assert model.images - seen == activations.shape[0] * n + 1  # + the probe for the output size
        np.testing.assert_allclose(explainer.details().weights[:, 0], weights, atol=1e-5)
    assert relative_error(result, torchcam_map(activations, weights)) < 1e-4


def test_sscam_is_reproducible_and_tends_to_scorecam(small_case):
    x, activations, model = small_case
    with scorecam.Explainer(model, preset="torchcam", method="sscam", samples=8, seed=7) as explainer:
        first = explainer.explain(x, activations, 2)
        assert model.images == activations.shape[0] * 8 + 1
        np.testing.assert_array_equal(first, explainer.explain(x, activations, 2))
        explainer.set_params(threads=1)  # the noise does not depend on threads...
        np.testing.assert_array_equal(first, explainer.explain(x, activations, 2))
        explainer.set_params(batch_size=5)  # ...nor on batching (numpy's matmul rounds per shape)
        np.testing.assert_allclose(first, explainer.explain(x, activations, 2), rtol=0, atol=1e-6)
        explainer.set_params(seed=8)
        assert not np.array_equal(first, explainer.explain(x, activations, 2))
        # Without noise every sample is the plain mask: SS-CAM is Score-CAM.
        explainer.set_params(noise_std=0.0)
        no_noise = explainer.explain(x, activations, 2)
    with scorecam.Explainer(model, preset="torchcam") as explainer:
        plain = explainer.explain(x, activations, 2)
    assert relative_error(no_noise, plain) < 1e-5
    # With small noise and many samples the mean score approaches the noiseless one.
    with scorecam.Explainer(model, preset="torchcam", method="sscam", samples=400, noise_std=0.05) as explainer:
        assert relative_error(explainer.explain(x, activations, 2), plain) < 0.02


def test_sscam_noise_is_gaussian_with_the_given_std(small_case):
    """One channel, an all-ones input and an identity-like model: the model sees the noisy mask."""
    x = np.ones((1, 64, 64), np.float32)
    activations = np.zeros((2, 4, 4), np.float32)
    activations[0, 1, 2] = activations[1, 3, 0] = 1.0
    seen = []

    def record(batch):
        seen.append(batch.copy())
        return batch.reshape(len(batch), -1)[:, :1]

    with scorecam.Explainer(record, preset="torchcam", method="sscam", samples=40, noise_std=2.0,
                            output_dim=1) as explainer:
        explainer.explain(x, activations, 0)
        mask = explainer.masks(activations, (64, 64), [0])[0]
    noisy = np.concatenate(seen)[:40, 0]  # the 40 samples of channel 0
    noise = noisy - mask[None]
    assert abs(noise.mean()) < 0.02
    assert abs(noise.std() - 2.0) < 0.02
    assert not np.allclose(noise[0], noise[1])


@pytest.fixture
def many_channels():
    """64 channels whose strength falls off steeply: a few matter, most barely."""
    rng = np.random.default_rng(5)
    x = rng.random((3, 20, 24), dtype=np.float32)
    activations = (np.maximum(rng.normal(size=(64, 5, 6)), 0) * rng.random((64, 1, 1)) ** 3).astype(np.float32)
    from conftest import LinearModel

    return x, activations, LinearModel(3 * 20 * 24, 7)


def test_adaptive_budget_stops_early_and_converges(many_channels):
    x, activations, model = many_channels
    with scorecam.Explainer(model) as explainer:
        full = explainer.explain(x, activations, 4)
        used, fidelity = [], []
        for tolerance in (0.1, 0.02, 0.01, 1e-12):
            explainer.set_params(adaptive_tolerance=tolerance, adaptive_step=4)
            adaptive = explainer.explain(x, activations, 4)
            channels = explainer.details().channels
            maxima = activations.reshape(len(activations), -1).max(1)
            assert (np.diff(maxima[channels]) <= 0).all()  # most promising channels first
            assert len(channels) % 4 == 0
            used.append(len(channels))
            fidelity.append(np.corrcoef(adaptive.ravel(), full.ravel())[0, 1])
    assert used[0] < 64 and used == sorted(used) and used[-1] == 64  # tighter tolerance, more channels
    assert fidelity == sorted(fidelity) and fidelity[0] > 0.95 and fidelity[-1] > 1 - 1e-9


def test_adaptive_respects_the_selection_cap(small_case):
    x, activations, model = small_case
    with scorecam.Explainer(model, cskip=5, adaptive_tolerance=1e-12, adaptive_step=2) as explainer:
        explainer.explain(x, activations, 1)
        assert len(explainer.details().channels) == 5
