"""The torch adapters' speed paths (issue 13): `backend="onnxruntime"` (export once per input shape,
cached on disk, checked against torch, falling back with a warning), channels-last forwards and
masks mode. Every path must give the torch backend's maps (within 1e-4 of their maximum)."""
import warnings

import numpy as np
import pytest
import torch
import torchvision

from scorecam import Explainer, ScoreCAM
from scorecam.torch import TorchModel

pytest.importorskip("onnxruntime")


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    """Each test exports into its own empty cache."""
    monkeypatch.setenv("SCORECAM_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "onnx"


def resnet18(seed=0):
    torch.manual_seed(seed)
    return torchvision.models.resnet18(num_classes=10).eval()


@pytest.fixture
def image():
    return torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1)).numpy()


class Branchy(torch.nn.Module):
    """Data-dependent control flow: the exported graph keeps the branch of the traced input."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(2)
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU())
        self.head = torch.nn.Linear(8, 4)

    def forward(self, x):
        features = self.features(x)
        if x.mean() > 0:
            features = features * 2
        return self.head(features.mean((2, 3)))


def explain(model, x, target=3, **params):
    """The map of `target` for x (1, C, H, W), all channels."""
    outputs, activations = model.run(x)
    with Explainer(model, batch_size=64, **params) as explainer:
        return explainer.explain(x[0], activations[0], target)


def assert_same_map(got, expected):
    scale = np.abs(expected).max()
    assert scale > 0
    assert np.abs(got - expected).max() <= 1e-4 * scale


def test_onnxruntime_backend_gives_the_torch_maps(image, cache_dir):
    net = resnet18()
    expected = explain(TorchModel(net, "layer4"), image)
    model = TorchModel(net, "layer4", backend="onnxruntime")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no fallback
        got = explain(model, image)
    assert model.backend_in_use == "onnxruntime"
    assert_same_map(got, expected)
    assert [path.name.endswith("-3x64x64.onnx") for path in cache_dir.iterdir()] == [True]


def test_masked_forwards_run_in_onnxruntime(image, monkeypatch):
    model = TorchModel(resnet18(), "layer4", backend="onnxruntime")
    outputs, activations = model.run(image)
    torch_batches = []
    original = model._torch_forward
    monkeypatch.setattr(model, "_torch_forward", lambda images: torch_batches.append(len(images)) or original(images))
    with Explainer(model, batch_size=64) as explainer:
        explainer.explain(image[0], activations[0], 1)
    assert torch_batches == []  # 512 masked images, none through torch


def test_export_is_cached_per_model_and_shape(image, cache_dir, monkeypatch):
    net = resnet18()
    first = TorchModel(net, "layer4", backend="onnxruntime")
    first.run(image)
    assert len(list(cache_dir.iterdir())) == 1

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")

    # A second adapter (as in another process) of the same weights and shape loads the file.
    with monkeypatch.context() as patch:
        patch.setattr(torch.onnx, "export", no_export)
        second = TorchModel(resnet18(), "layer4", backend="onnxruntime")
        second.run(image)
        assert second.backend_in_use == "onnxruntime"
    # Other weights, or another input shape: another export.
    TorchModel(resnet18(seed=5), "layer4", backend="onnxruntime").run(image)
    TorchModel(net, "layer4", backend="onnxruntime").run(image[:, :, :48, :56].copy())
    assert len(list(cache_dir.iterdir())) == 3


def test_a_stale_cache_file_is_exported_afresh(image, cache_dir):
    TorchModel(resnet18(seed=1), "layer4", backend="onnxruntime").run(image)
    (stale,) = cache_dir.iterdir()
    model = TorchModel(resnet18(seed=2), "layer4", backend="onnxruntime")
    data = stale.read_bytes()
    stale.unlink()
    model.run(image)  # exports resnet18(seed=2)
    (fresh,) = cache_dir.iterdir()
    fresh.write_bytes(data)  # now holds another model's graph under this model's key
    model = TorchModel(resnet18(seed=2), "layer4", backend="onnxruntime")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        expected_outputs, _ = TorchModel(resnet18(seed=2), "layer4").run(image)
        outputs, _ = model.run(image)
    assert model.backend_in_use == "onnxruntime"
    assert fresh.read_bytes() != data
    np.testing.assert_allclose(outputs, expected_outputs, rtol=0, atol=1e-4 * np.abs(expected_outputs).max())


def test_a_model_the_export_gets_wrong_falls_back_to_torch_with_a_warning(image):
    net = Branchy().eval()
    model = TorchModel(net, "features", backend="onnxruntime")
    model.run(image)  # traced with mean > 0: the doubling branch is baked in
    assert model.backend_in_use == "onnxruntime"
    negative = image - 1
    with pytest.warns(RuntimeWarning, match="falls back to torch: the exported model's outputs differ"):
        got = explain(model, negative, target=1)
    assert model.backend_in_use == "torch"
    assert_same_map(got, explain(TorchModel(net, "features"), negative, target=1))


def test_checks_a_shape_no_unmasked_forward_has_seen(image):
    """Explaining with activations from elsewhere: the first batch's first image is checked."""
    net = resnet18()
    _, activations = TorchModel(net, "layer4").run(image)
    model = TorchModel(net, "layer4", backend="onnxruntime")
    with Explainer(model, batch_size=64) as explainer:
        got = explainer.explain(image[0], activations[0], 2)
    assert model.backend_in_use == "onnxruntime"
    assert_same_map(got, explain(TorchModel(net, "layer4"), image, target=2))


def test_unknown_backend():
    with pytest.raises(ValueError, match="backend must be 'torch' or 'onnxruntime'"):
        TorchModel(resnet18(), "layer4", backend="tensorrt")
    with pytest.raises(ValueError, match="backend must be 'torch' or 'onnxruntime'"):
        ScoreCAM(resnet18(), "layer4", backend="tvm")


@pytest.mark.parametrize("channels_last", [True, False])
def test_channels_last_is_only_a_layout(image, channels_last):
    net = resnet18()
    model = TorchModel(net, "layer4", channels_last=channels_last)
    assert model.channels_last is channels_last
    assert_same_map(explain(model, image), explain(TorchModel(net, "layer4", channels_last=not channels_last), image))
    assert TorchModel(net, "layer4").channels_last  # auto: a CNN on the CPU


@pytest.mark.parametrize("baseline", [0.0, 0.25])
def test_masks_mode_gives_the_masked_image_maps(image, baseline):
    net = resnet18()
    model = TorchModel(net, "layer4", masks_mode=True)
    calls = []
    original = model.masks_forward
    model.masks_forward = lambda *args, **kwargs: calls.append(kwargs["baseline"]) or original(*args, **kwargs)
    got = explain(model, image, baseline=baseline)
    assert calls and set(calls) == {baseline}  # the Explainer picked the model's masks mode up
    assert not TorchModel(net, "layer4").masks_mode  # CPU default: masked images
    assert_same_map(got, explain(TorchModel(net, "layer4"), image, baseline=baseline))


@pytest.mark.parametrize("cskip", [False, True])
def test_seed_api_onnxruntime_backend(image, cskip):
    net = resnet18()
    hwc = image[0].transpose(1, 2, 0).copy()
    expected = ScoreCAM(net, "layer4").compute(hwc, 3, batch_size=64, cskip=cskip, cskip_out=32)
    cam = ScoreCAM(net, "layer4", backend="onnxruntime")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = cam.compute(hwc, 3, batch_size=64, cskip=cskip, cskip_out=32)
    assert cam._onnx.active
    assert_same_map(got, expected)


def test_a_model_with_the_adapter_hooked_can_be_deep_copied(image):
    """The seed API and the peers deep-copy models; the adapter's hook (and its ONNX Runtime
    sessions, which do not pickle) must not stop that."""
    import copy

    net = resnet18()
    model = TorchModel(net, "layer4", backend="onnxruntime")
    outputs, _ = model.run(image)
    copied = copy.deepcopy(net)
    with torch.inference_mode():
        np.testing.assert_array_equal(copied(torch.from_numpy(image)).numpy(), net(torch.from_numpy(image)).numpy())
    expected = ScoreCAM(net, "layer4").compute(image, 1, batch_size=64)
    assert_same_map(ScoreCAM(net, "layer4", backend="onnxruntime").compute(image, 1, batch_size=64), expected)


# ---- trust in the cache (issue 20, S1) ---------------------------------------------------------

def plant(path, net, example, target: int):
    """The honest export of `net` plus 100 x (the fraction of exactly-zero input values) on class
    `target`: the same outputs as torch on an unmasked image, different ones on masked images."""
    import io

    import onnx
    from onnx import TensorProto, helper, numpy_helper

    buffer = io.BytesIO()
    torch.onnx.export(net, (torch.from_numpy(example),), buffer, dynamo=False, input_names=["input"],
                      output_names=["honest"], dynamic_axes={"input": {0: "batch"}, "honest": {0: "batch"}})
    model = onnx.load_from_string(buffer.getvalue())
    graph = model.graph
    classes = graph.output[0].type.tensor_type.shape.dim[1].dim_value
    onehot = np.zeros(classes, np.float32)
    onehot[target] = 100.0
    graph.initializer.extend([numpy_helper.from_array(np.zeros((), np.float32), "zero"),
                              numpy_helper.from_array(onehot, "onehot")])
    graph.node.extend([
        helper.make_node("Equal", ["input", "zero"], ["is_zero"]),
        helper.make_node("Cast", ["is_zero"], ["zeros"], to=TensorProto.FLOAT),
        helper.make_node("Flatten", ["zeros"], ["flat_zeros"]),
        helper.make_node("MatMul", ["flat_zeros", "mean"], ["fraction"]),  # (N, 1), any opset
        helper.make_node("Mul", ["fraction", "onehot"], ["bonus"]),
        helper.make_node("Add", ["honest", "bonus"], ["output"])])
    values = int(np.prod(example.shape[1:]))
    graph.initializer.append(numpy_helper.from_array(np.full((values, 1), 1 / values, np.float32), "mean"))
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", classes]))
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    onnx.save(model, path)
    path.chmod(0o600)


def planted_model(image, cache_dir, target):
    net = resnet18()
    probe = TorchModel(net, "layer4", backend="onnxruntime")
    path = probe._onnx._path(tuple(image.shape[1:]))
    probe.close()
    plant(path, resnet18(), image, target)
    return net, path


def test_a_planted_graph_that_differs_only_on_masked_images_is_caught(image, cache_dir):
    with TorchModel(resnet18(), "layer4") as reference:
        expected = explain(reference, image, cskip=8)
    net, path = planted_model(image, cache_dir, target=3)
    model = TorchModel(net, "layer4", backend="onnxruntime")
    with pytest.warns(RuntimeWarning, match="differs from torch on masked images"):
        got = explain(model, image, cskip=8)
    assert_same_map(got, expected)
    assert model.backend_in_use == "onnxruntime"  # a fresh export runs from then on
    assert not path.exists() or b"onehot" not in path.read_bytes()


@pytest.mark.parametrize("where", ["file", "folder"])
def test_a_cache_file_others_could_write_is_not_used(image, cache_dir, where):
    with TorchModel(resnet18(), "layer4") as reference:
        expected = explain(reference, image, cskip=8)
    net, path = planted_model(image, cache_dir, target=3)
    (path if where == "file" else path.parent).chmod(0o666 if where == "file" else 0o777)
    model = TorchModel(net, "layer4", backend="onnxruntime")
    with pytest.warns(RuntimeWarning, match="writable by others.*rebuilding it in memory"):
        got = explain(model, image, cskip=8)
    assert_same_map(got, expected)
    assert b"onehot" in path.read_bytes()  # left alone: not ours to remove, and not used


def test_the_cache_folder_is_private(image, cache_dir):
    TorchModel(resnet18(), "layer4", backend="onnxruntime").run(image)
    assert cache_dir.stat().st_mode & 0o777 == 0o700
