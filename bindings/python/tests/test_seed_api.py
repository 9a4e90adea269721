"""`scorecam.ScoreCAM` (the seed's API) on the real model, EfficientNet-Lite0 in torch via
onnx2torch, against the seed's formula computed independently with torch."""
import numpy as np
import pytest
import torch

from conftest import SAMPLE_IMAGE
from reference import score_cam
from scorecam import ScoreCAM
from scorecam.models import efficientnet_lite0

onnx2torch = pytest.importorskip("onnx2torch")


def relative_error(actual, expected) -> float:
    return float(np.abs(np.asarray(actual) - expected).max() / np.abs(expected).max())


@pytest.fixture(scope="module")
def lite0():
    bundle = efficientnet_lite0()
    model = onnx2torch.convert(str(bundle.path)).eval()
    torch.manual_seed(0)
    x = bundle.preprocess(SAMPLE_IMAGE)  # (1, 3, 224, 224)
    captured = {}
    hook = model.get_submodule("head_relu6").register_forward_hook(lambda m, i, o: captured.update(a=o.detach()))
    with torch.no_grad():
        logits = model(torch.from_numpy(x))
    hook.remove()
    assert int(logits.argmax()) == 243
    return model, x, captured["a"]


SEED_CLASSES = [242, 243, 281, 282]  # boxer, bull mastiff, tabby, tiger cat: the seed's examples


def seed_channels(activations, cskip_out=16):
    """The seed's channel_skipping: torch.argsort of the channel maxima, descending, not stable."""
    maxima = torch.max(torch.flatten(activations, start_dim=2), dim=2)[0]
    return torch.argsort(maxima.reshape([-1]), descending=True)[:cskip_out]


@pytest.mark.slow  # all 1280 channels, in torch twice: ~80 s
def test_vanilla_matches_the_seed_formula(lite0):
    model, x, _ = lite0
    # The seed's own calling convention: an (H, W, C) float64 numpy image; four classes from one
    # set of forwards, against the formula scoring the four from one set too.
    image_hwc = x[0].transpose(1, 2, 0).astype(np.float64)
    result = ScoreCAM(model, "head_relu6").compute(image_hwc, coi=SEED_CLASSES, batch_size=64)
    assert result.shape == (4, 224, 224) and result.dtype == np.float32
    model, x, activations = lite0
    expected, _, _ = score_cam(torch.from_numpy(x), activations, model, lambda out: out[:, SEED_CLASSES])
    for index in range(4):
        assert relative_error(result[index], expected[index].numpy()) < 1e-4


def test_cskip_matches_the_seed_under_ties(lite0):
    """head_relu6 saturates: ~100 channels tie at 6. The drop-in keeps the channels the seed's
    own torch.argsort keeps, not the engine's deterministic tie order."""
    model, x, activations = lite0
    chosen = seed_channels(activations)
    maxima = activations.flatten(2)[0].amax(1)
    assert int((maxima == maxima.max()).sum()) > 16  # the tie is real: the test can fail
    engine_order = torch.argsort(maxima, descending=True, stable=True)[:16]
    assert set(chosen.tolist()) != set(engine_order.tolist())
    scorecam = ScoreCAM(model, "head_relu6")
    for target in SEED_CLASSES:
        result = scorecam.compute(torch.from_numpy(x), coi=target, cskip=True, cskip_out=16)
        expected, _, _ = score_cam(torch.from_numpy(x), activations, model, lambda out: out[:, target], channels=chosen)
        assert relative_error(result, expected.numpy()) < 1e-4, target


def test_many_classes_equal_one_class_runs(lite0):
    model, x, _ = lite0
    scorecam = ScoreCAM(model, "head_relu6")
    together = scorecam.compute(x, coi=[243, 282, 281], cskip=True, cskip_out=24)
    assert together.shape == (3, 224, 224)
    for index, target in enumerate([243, 282, 281]):
        np.testing.assert_array_equal(together[index], scorecam.compute(x, coi=target, cskip=True, cskip_out=24))


class DetectorHead(torch.nn.Module):
    """Makes the classifier look like a detector with (B, 10, 10, 10) outputs, as in the seed's
    YOLO example, so a scoring function has to index a multi-dimensional output."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone

    def forward(self, x):
        return self.backbone(x).reshape(-1, 10, 10, 10)


def test_callable_coi_on_a_detector_shaped_output(lite0):
    model, x, _ = lite0
    by_function = ScoreCAM(DetectorHead(model), "backbone.head_relu6").compute(
        x, coi=lambda output: output[:, 2, 4, 3], cskip=True)  # flat index 243
    by_index = ScoreCAM(model, "head_relu6").compute(x, coi=243, cskip=True)
    np.testing.assert_allclose(by_function, by_index, rtol=0, atol=1e-6 * by_index.max())


def test_intermediates_on_demand(lite0):
    model, x, _ = lite0
    scorecam = ScoreCAM(model, "head_relu6")
    with pytest.raises(AttributeError):
        scorecam.M  # noqa: B018 - nothing computed yet
    scorecam.compute(x, coi=243, cskip=True, cskip_out=8)
    masks, masked = scorecam.A_normalized, scorecam.M
    assert tuple(masks.shape) == (8, 1, 224, 224) and tuple(masked.shape) == (8, 3, 224, 224)
    assert float(masks.min()) == 0.0 and float(masks.max()) == pytest.approx(1.0, abs=1e-6)
    torch.testing.assert_close(masked, torch.from_numpy(x) * masks, rtol=0, atol=0)


def test_colormap_and_overlay(lite0):
    model, x, _ = lite0
    heatmap = ScoreCAM(model, "head_relu6").compute(x, coi=243, cskip=True)
    colors = ScoreCAM.to_colormap(heatmap)
    assert colors.shape == (224, 224, 3) and colors.dtype == np.uint8
    image = np.full((224, 224, 3), 100, np.uint8)
    blended = ScoreCAM.overlay(image, heatmap)
    assert blended.dtype == np.uint8
    np.testing.assert_array_equal(blended, np.clip(0.5 * image + 0.5 * colors, 0, 255).astype(np.uint8))


def test_seed_input_errors(lite0):
    model, _, _ = lite0
    scorecam = ScoreCAM(model, "head_relu6")
    with pytest.raises(TypeError):
        scorecam.compute([[1.0]], coi=1)
    with pytest.raises(ValueError, match="Batch size should be 1"):
        scorecam.compute(np.zeros((2, 3, 224, 224), np.float32), coi=1)
    with pytest.raises(AttributeError):
        ScoreCAM(model, "no_such_layer")
