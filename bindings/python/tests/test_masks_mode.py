"""Masks mode (Explainer(masks_forward=...)): the host forms the masked images from the masks, as a
GPU host does on its device; the maps must be those of the masked-image path."""
import numpy as np
import pytest

import scorecam


def masks_host(model, baseline: float = 0.0):
    """A masks forward doing on the CPU what a device host does on its GPU; records its calls."""
    calls = []

    def forward_masks(masks, images, x):
        calls.append((masks.shape, images.copy(), x))
        masked = baseline + (x[images] - baseline) * masks if baseline else x[images] * masks
        return model(np.ascontiguousarray(masked, dtype=np.float32))

    return forward_masks, calls


@pytest.mark.parametrize("preset", ["seed", "gradcam", "torchcam", "paper"])
@pytest.mark.parametrize("method", ["scorecam", "sscam"])
def test_same_maps_as_the_masked_image_path(small_case, preset, method):
    x, activations, model = small_case
    xb = np.stack([x, x[:, ::-1, :].copy()])
    ab = np.stack([activations, activations[::-1].copy()])
    options = dict(preset=preset, batch_size=5, method=method, samples=2)
    with scorecam.Explainer(model, **options) as explainer:
        expected = explainer.explain(xb, ab, [1, 4])
    forward_masks, calls = masks_host(model)
    with scorecam.Explainer(model, masks_forward=forward_masks, **options) as explainer:
        maps = explainer.explain(xb, ab, [1, 4])
    np.testing.assert_allclose(maps, expected, rtol=0, atol=1e-5 * np.abs(expected).max())
    assert len(calls) > 1
    first = calls[0][2]  # the same array object every call of one explain: upload it once
    assert all(x_seen is first for _, _, x_seen in calls)
    assert np.shares_memory(first, xb) and np.array_equal(first, xb)
    assert {int(i) for _, images, _ in calls for i in images} == {0, 1}
    assert all(shape[1:] == (1,) + x.shape[1:] for shape, _, _ in calls)


def test_baseline_and_unmasked_pass(small_case):
    x, activations, model = small_case
    options = dict(baseline=0.3, weighting="raw", subtract_base=True, batch_size=4)
    with scorecam.Explainer(model, **options) as explainer:
        expected = explainer.explain(x, activations, 2)
        base = explainer.details().base_scores
    forward_masks, calls = masks_host(model, baseline=0.3)
    with scorecam.Explainer(model, masks_forward=forward_masks, **options) as explainer:
        maps = explainer.explain(x, activations, 2)
        np.testing.assert_allclose(explainer.details().base_scores, base, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(maps, expected, rtol=0, atol=1e-5 * np.abs(expected).max())


def test_masks_forward_errors_come_back_unchanged(small_case):
    x, activations, model = small_case

    class DeviceLost(RuntimeError):
        pass

    def failing(masks, images, x):
        raise DeviceLost("gone")

    with scorecam.Explainer(model, masks_forward=failing) as explainer:
        with pytest.raises(DeviceLost, match="gone"):
            explainer.explain(x, activations, 0)
        with pytest.raises(TypeError):
            scorecam.Explainer(model, masks_forward=42)
