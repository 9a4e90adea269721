"""Metrics against direct numpy computations of their definitions on a small model."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import scorecam


def probabilities(model, batch):
    return torch.softmax(torch.from_numpy(model(batch)).double(), 1).numpy()


def resized_normalized(heatmap, size):
    m = (heatmap - heatmap.min()) / (heatmap.max() - heatmap.min())
    return F.interpolate(torch.from_numpy(m)[None, None], size, mode="bilinear", align_corners=False)[0, 0].numpy()


def curve_auc(model, x, heatmap, target, steps, baseline, insertion):
    """RISE with torchcam's schedule, computed directly."""
    size = x.shape[1:]
    resized = F.interpolate(torch.from_numpy(heatmap)[None, None], size, mode="bilinear",
                            align_corners=False)[0, 0].numpy().ravel()
    order = sorted(range(resized.size), key=lambda p: (-resized[p], p))
    positions = resized.size
    step = -(-positions // steps)
    counts = list(range(0, positions, step)) + [positions]
    scores = []
    for count in counts:
        top = np.zeros(positions, bool)
        top[order[:count]] = True
        keep = top if insertion else ~top
        image = np.where(keep.reshape(size)[None], x, baseline).astype(np.float32)
        scores.append(probabilities(model, image[None])[0, target])
    fractions = np.array(counts) / positions
    return float(np.sum(np.diff(fractions) * (np.array(scores[1:]) + np.array(scores[:-1])) / 2))


@pytest.fixture
def evaluated(small_case):
    x, activations, model = small_case
    with scorecam.Explainer(model, normalize_map=True) as explainer:
        maps = explainer.explain(x, activations, [1, 4])
    return x, model, maps


def test_average_drop_and_increase_in_confidence(evaluated):
    x, model, maps = evaluated
    original = probabilities(model, x[None])[0]
    expected_drop, expected_increase = [], []
    for heatmap, target in zip(maps, [1, 4]):
        masked = probabilities(model, (x * resized_normalized(heatmap, x.shape[1:])[None])[None].astype(np.float32))[0]
        expected_drop.append(max(0.0, original[target] - masked[target]) / (original[target] + 1e-7))
        expected_increase.append(float(original[target] < masked[target]))
    with scorecam.Explainer(model) as explainer:
        np.testing.assert_allclose(explainer.evaluate(x, maps, [1, 4], "average_drop"), expected_drop, atol=1e-6)
        np.testing.assert_array_equal(explainer.evaluate(x, maps, [1, 4], "increase_in_confidence"), expected_increase)
        # A map at another size is resized; a single map gives a single value.
        low = maps[0, ::4, ::4].copy()
        masked = probabilities(model, (x * resized_normalized(low, x.shape[1:])[None])[None].astype(np.float32))[0]
        drop = max(0.0, original[1] - masked[1]) / (original[1] + 1e-7)
        assert explainer.evaluate(x, low, 1, "average_drop") == pytest.approx(drop, abs=1e-6)


@pytest.mark.parametrize("metric", ["insertion", "deletion"])
def test_insertion_and_deletion(evaluated, metric):
    x, model, maps = evaluated
    with scorecam.Explainer(model, metric_steps=7, metric_baseline=0.5) as explainer:
        values = explainer.evaluate(x[None], maps[None], [1, 4], metric)
    assert values.shape == (1, 2)
    for value, heatmap, target in zip(values[0], maps, [1, 4]):
        assert value == pytest.approx(curve_auc(model, x, heatmap, target, 7, 0.5, metric == "insertion"), abs=1e-6)


def test_metrics_count_forwards_and_errors(evaluated):
    x, model, maps = evaluated
    with scorecam.Explainer(model, output_dim=7, batch_size=4) as explainer:
        before = model.images
        explainer.evaluate(x, maps, [1, 4], "deletion")
        # original + all-baseline + (steps - 1) interior points per map: 1 + 1 + 2 * 19
        assert model.images - before == 40
        with pytest.raises(ValueError, match="metric must be one of"):
            explainer.evaluate(x, maps, [1, 4], "accuracy")
        with pytest.raises(ValueError, match="need 2 targets"):
            explainer.evaluate(x, maps, [1], "deletion")
        bad = maps.copy()
        bad[0, 0, 0] = np.inf
        with pytest.raises(scorecam.ScoreCAMError, match="maps"):
            explainer.evaluate(x, bad, [1, 4], "average_drop")
        with pytest.raises(scorecam.CancelledError):
            explainer.evaluate(x, maps, [1, 4], "insertion", progress=lambda done, total: False)
