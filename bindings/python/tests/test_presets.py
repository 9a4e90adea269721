"""Each preset reproduces its library's maps on the real model (fixtures written by
fixtures/generate_preset_fixtures.py from pytorch-grad-cam, torchcam and the authors' formula),
and the metrics reproduce torchcam's."""
import json
import pathlib

import numpy as np
import pytest

import scorecam
from scorecam.models import _lite0
from scorecam.models import efficientnet_lite0

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures" / "presets"
MAPS = np.load(FIXTURES / "maps.npz")
CASES = sorted({tuple(key.split("/")[:2]) for key in MAPS.files})  # (preset, image)


@pytest.fixture(scope="module")
def onnx_model():
    return efficientnet_lite0().onnx()


def load_input(image):
    from PIL import Image

    with Image.open(FIXTURES / f"{image}.png") as picture:
        return _lite0.normalize(np.asarray(picture.convert("RGB")))


def test_fixtures_cover_every_preset():
    assert {preset for preset, _ in CASES} == {"gradcam", "torchcam", "paper"}
    assert len({image for _, image in CASES}) == 3


# gradcam and torchcam take 7-15 s a case: the quick tier keeps the paper preset's three.
@pytest.mark.parametrize("preset, image", [pytest.param(*case, marks=[pytest.mark.slow] if case[0] != "paper" else [])
                                           for case in CASES])
def test_preset_reproduces_its_library(onnx_model, preset, image):
    keys = sorted(key for key in MAPS.files if key.startswith(f"{preset}/{image}/"))
    classes = [int(key.rsplit("/", 1)[1]) for key in keys]
    x = load_input(image)
    _, activations = onnx_model.run(x)
    with scorecam.Explainer(onnx_model.forward, preset=preset) as explainer:
        maps = explainer.explain(x[0], activations[0], classes)
    for key, heatmap in zip(keys, maps):
        expected = MAPS[key]
        assert heatmap.shape == expected.shape, key
        error = float(np.abs(heatmap - expected).max() / np.abs(expected).max())
        assert error < 1e-4, f"{key}: relative error {error:.2e}"


@pytest.mark.slow  # ~20 s
def test_metrics_reproduce_torchcam(onnx_model):
    import torch
    import torch.nn.functional as F

    expected = json.loads((FIXTURES / "torchcam_metrics.json").read_text())
    x = load_input("sample_image_01")
    names = {"avg_drop": "average_drop", "conf_increase": "increase_in_confidence",
             "insertion_auc": "insertion", "deletion_auc": "deletion"}
    _, activations = onnx_model.run(x)
    assert any(values["avg_drop"] > 0.1 for values in expected.values())
    with scorecam.Explainer(onnx_model.forward, preset="torchcam", metric_steps=20) as explainer:
        for target, values in expected.items():
            # torchcam's own map of this class (our torchcam preset reproduces it: see above)
            heatmap = explainer.explain(x[0], activations[0], int(target))
            for theirs, ours in names.items():
                value = explainer.evaluate(x[0], heatmap, int(target), ours)
                # Insertion and deletion rank 50,176 positions of a map upsampled from 7 x 7, full
                # of near-ties; our resize rounds differently from PyTorch's in the last bit
                # (<= 2e-7), which reorders some ties: the AUCs agree to 1e-3, not bit for bit...
                assert value == pytest.approx(values[theirs], abs=1e-3), (target, ours)
            # ...and given the map as PyTorch resized it, they agree to 1e-6.
            resized = F.interpolate(torch.from_numpy(heatmap)[None, None], x.shape[2:], mode="bilinear",
                                    align_corners=False)[0, 0].numpy()
            for theirs, ours in [("insertion_auc", "insertion"), ("deletion_auc", "deletion")]:
                value = explainer.evaluate(x[0], resized, int(target), ours)
                assert value == pytest.approx(values[theirs], abs=1e-6), (target, ours)
