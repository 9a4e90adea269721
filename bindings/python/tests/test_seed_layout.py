"""The seed API runs the torch forwards channels-last for convolutional models on the CPU (the faster
layout there, docs/BENCHMARKS.md), whatever the input's layout; the switch turns it off; the maps
do not depend on it."""
import numpy as np
import pytest
import torch

from conftest import SAMPLE_IMAGE
from scorecam import ScoreCAM
from scorecam.models import efficientnet_lite0

onnx2torch = pytest.importorskip("onnx2torch")


@pytest.fixture(scope="module")
def lite0():
    bundle = efficientnet_lite0()
    return onnx2torch.convert(str(bundle.path)).eval(), bundle.preprocess(SAMPLE_IMAGE)


def layouts_seen(cam):
    """Records, per forward the model runs, whether its input was channels-last."""
    seen = []
    cam.model.register_forward_pre_hook(
        lambda module, args: seen.append(args[0].is_contiguous(memory_format=torch.channels_last)))
    return seen


@pytest.mark.parametrize("layout", ["HWC", "1CHW"])
def test_channels_last_by_default_on_cpu_for_any_input_layout(lite0, layout):
    model, x = lite0
    image = np.ascontiguousarray(x[0].transpose(1, 2, 0)) if layout == "HWC" else torch.from_numpy(x)
    cam = ScoreCAM(model, "head_relu6")
    assert cam.channels_last is True
    seen = layouts_seen(cam)
    fast = cam.compute(image, 243, batch_size=8, cskip=True, cskip_out=16)
    assert seen and all(seen)

    plain = ScoreCAM(model, "head_relu6", channels_last=False)
    seen = layouts_seen(plain)
    expected = plain.compute(torch.from_numpy(x), 243, batch_size=8, cskip=True, cskip_out=16)
    assert not any(seen)
    assert np.abs(fast - expected).max() <= 1e-4 * np.abs(expected).max()


def test_models_without_convolutions_keep_their_layout():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 4))
    assert ScoreCAM(model, "0").channels_last is False
    assert ScoreCAM(model, "0", channels_last=True).channels_last is True
