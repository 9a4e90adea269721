"""Finding the layer of an ONNX model: OnnxModel.layers(), `python -m scorecam layers`, the
"no tensor named" error's suggestions, and models exported with a fixed batch size. The model is
a torchvision ResNet-18 with random weights, exported by torch's (legacy) exporter the way users
export theirs."""
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from scorecam import Explainer
from scorecam.onnx import OnnxModel
from scorecam.torch import TorchModel

torchvision = pytest.importorskip("torchvision")

LAYER = "/layer4/layer4.1/relu_1/Relu_output_0"  # what torch names the output of resnet.layer4


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None).eval()


def export(model, path, dynamic: bool):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter announces its deprecation
        torch.onnx.export(model, torch.zeros(1, 3, 64, 64), str(path), dynamo=False, input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "batch"}} if dynamic else None)
    return path


@pytest.fixture(scope="module")
def exported(resnet, tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    return export(resnet, folder / "dynamic.onnx", True), export(resnet, folder / "fixed.onnx", False)


def test_layers_in_graph_order_with_shapes(exported):
    dynamic, _ = exported
    layers = OnnxModel.layers(dynamic)
    names = [layer.name for layer in layers]
    assert LAYER in names
    found = layers[names.index(LAYER)]
    assert found.op == "Relu" and found.shape == (None, 512, 2, 2) and found.node == "/layer4/layer4.1/relu_1/Relu"
    assert names.index("/layer1/layer1.0/relu/Relu_output_0") < names.index(LAYER)  # graph order
    assert all(len(layer.shape) == 4 for layer in layers)
    everything = OnnxModel.layers(dynamic, four_d=False)
    assert len(everything) > len(layers) and "logits" in [layer.name for layer in everything]


def test_layers_command(exported):
    dynamic, _ = exported
    result = subprocess.run([sys.executable, "-m", "scorecam", "layers", str(dynamic)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith(LAYER))
    assert line.split()[1:] == ["Relu", "?x512x2x2"]
    missing = subprocess.run([sys.executable, "-m", "scorecam", "layers", "no-such.onnx"],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "no such file" in missing.stderr


@pytest.mark.parametrize("asked, hint", [
    ("layer4", f"the last tensor of the torch module 'layer4' is '{LAYER}'"),
    ("/layer4/layer4.1/relu_1/Relu", f"that is a node (Relu); its output tensor is '{LAYER}'"),
    ("/layer4/layer4.1/relu1", f"closest: '{LAYER}'"),
])
def test_missing_tensor_names_the_closest(exported, asked, hint):
    dynamic, _ = exported
    with pytest.raises(ValueError, match="has no tensor named") as error:
        OnnxModel(dynamic, asked)
    assert hint in str(error.value)


def test_fixed_batch_model_runs_in_chunks(exported, resnet):
    dynamic, fixed = exported
    with pytest.warns(UserWarning, match="fixed batch size of 1"):
        fixed_model = OnnxModel(fixed, LAYER)
    assert fixed_model.fixed_batch == 1
    dynamic_model = OnnxModel(dynamic, LAYER)
    assert dynamic_model.fixed_batch is None
    batch = np.random.default_rng(0).random((3, 3, 64, 64), dtype=np.float32)
    np.testing.assert_allclose(fixed_model(batch), dynamic_model(batch), rtol=1e-5, atol=1e-5)
    # and through the engine, batches of 4 masked images against the fixed batch of 1
    logits, activations = fixed_model.run(batch[:1])
    with Explainer(fixed_model, batch_size=4, cskip=6) as explainer:
        via_fixed = explainer.explain(batch[0], activations[0], 7)
    with Explainer(dynamic_model, batch_size=4, cskip=6) as explainer:
        via_dynamic = explainer.explain(batch[0], activations[0], 7)
    np.testing.assert_allclose(via_fixed, via_dynamic, rtol=1e-4, atol=1e-4 * via_dynamic.max())
    # the ONNX layer is the torch module's output
    with TorchModel(resnet, "layer4") as torch_model:
        np.testing.assert_allclose(torch_model.activations(batch[:1]), activations, rtol=1e-4, atol=1e-4)
