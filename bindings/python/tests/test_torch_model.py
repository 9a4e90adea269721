"""`scorecam.torch.TorchModel` and torch inputs to `Explainer`: small torch models with random
weights (the weights do not matter: every map is compared with a hand-written host's)."""
import numpy as np
import pytest
import torch

import scorecam
import scorecam.targets
from scorecam import Explainer
from scorecam.targets import SemanticSegmentationTarget
from scorecam.torch import TorchModel, vit_reshape


class SmallNet(torch.nn.Module):
    """3x16x16 -> features 12x8x8 -> 5 logits."""

    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(8, 12, 3, stride=2, padding=1), torch.nn.ReLU())
        self.head = torch.nn.Linear(12, 5)

    def forward(self, x):
        return self.head(self.features(x).mean((2, 3)))


class SegNet(torch.nn.Module):
    """A torchvision-style segmentation model: {"out": (N, 3, 16, 16), "aux": ...}."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Conv2d(3, 10, 3, padding=1), torch.nn.ReLU())
        self.classifier = torch.nn.Conv2d(10, 3, 1)

    def forward(self, x):
        features = self.body(x)
        return {"out": self.classifier(features), "aux": features.mean((2, 3))}


class TokenNet(torch.nn.Module):
    """ViT-like: 4x4 patches of a 16x16 image -> 16 tokens + a class token, 6 features each."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Conv2d(3, 6, 4, stride=4)
        self.cls = torch.nn.Parameter(torch.randn(1, 1, 6))
        self.block = torch.nn.Sequential(torch.nn.LayerNorm(6), torch.nn.Linear(6, 6), torch.nn.GELU())
        self.head = torch.nn.Linear(6, 5)

    def forward(self, x):
        tokens = self.embed(x).flatten(2).transpose(1, 2)
        tokens = self.block(torch.cat([self.cls.expand(len(x), -1, -1), tokens], 1))
        return self.head(tokens.mean(1))


@pytest.fixture
def net():
    torch.manual_seed(0)
    return SmallNet().eval()


@pytest.fixture
def image():
    return np.random.default_rng(3).random((1, 3, 16, 16), dtype=np.float32)


def hand_written(model, layer, x):
    """What a user writes without the adapter: a hook, no_grad, numpy conversions."""
    captured = {}
    hook = model.get_submodule(layer).register_forward_hook(lambda m, i, o: captured.update(a=o.detach()))
    with torch.no_grad():
        logits = model(torch.from_numpy(x))
    hook.remove()

    def forward(batch):
        with torch.no_grad():
            return model(torch.from_numpy(batch)).numpy()

    return forward, logits.numpy(), captured["a"].numpy()


def test_adapter_maps_equal_a_hand_written_forward_exactly(net, image):
    forward, logits, activations = hand_written(net, "features.3", image)
    # NCHW like the hand-written forward, for bit equality (channels-last: test_torch_backend.py)
    model = TorchModel(net, "features.3", channels_last=False)
    outputs, adapter_activations = model.run(image)
    np.testing.assert_array_equal(outputs, logits)
    np.testing.assert_array_equal(adapter_activations, activations)
    with Explainer(forward) as explainer:
        expected = explainer.explain(image[0], activations[0], [1, 3])
    with Explainer(model) as explainer:
        np.testing.assert_array_equal(explainer.explain(image[0], adapter_activations[0], [1, 3]), expected)
    # the layer as a module, and the hook removed on close
    by_module = TorchModel(net, net.features[3], channels_last=False)
    np.testing.assert_array_equal(by_module.activations(image), activations)
    by_module.close()
    model.close()
    assert not net.features[3]._forward_hooks


def test_torch_tensors_in_any_float_dtype(net, image):
    model = TorchModel(net, "features.3")
    _, activations = model.run(image)
    with Explainer(model) as explainer:
        expected = explainer.explain(image[0], activations[0], 2)
        x64 = torch.from_numpy(image[0]).double().requires_grad_()
        got = explainer.explain(x64, torch.from_numpy(activations[0]).double(), 2)
        np.testing.assert_array_equal(got, expected)
        # torch batches go straight to the adapter too
        outputs, tensor_activations = model.run(torch.from_numpy(image).double())
        np.testing.assert_array_equal(tensor_activations, activations)
        with pytest.raises(TypeError, match="float32"):
            explainer.explain(image[0].astype(np.float64), activations[0], 2)  # numpy stays strict


class StripNet(torch.nn.Module):
    """Class j = the brightness of vertical strip j (of 4): the top class follows the image."""

    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.ReLU())
        with torch.no_grad():
            self.features[0].weight.abs_()
            self.features[0].bias.zero_()

    def forward(self, x):
        return torch.nn.functional.adaptive_avg_pool2d(self.features(x).sum(1, keepdim=True), (1, 4)).flatten(1)


def test_top1_by_default_per_image():
    torch.manual_seed(4)
    model = TorchModel(StripNet(), "features.1")
    x = np.random.default_rng(0).random((2, 3, 16, 16), dtype=np.float32) * 0.1
    x[0, :, :, 0:4] += 1  # image 0: strip 0 is brightest; image 1: strip 3
    x[1, :, :, 12:16] += 1
    logits, activations = model.run(x)
    assert logits[0].argmax() == 0 and logits[1].argmax() == 3
    with Explainer(model) as explainer:
        maps = explainer.explain(x, activations)
        assert maps.shape == (2, 1, 16, 16)
        for i, top in enumerate((0, 3)):
            np.testing.assert_array_equal(maps[i, 0], explainer.explain(x[i], activations[i], top))
        single = explainer.explain(x[1], activations[1])
        assert single.shape == (16, 16)
        np.testing.assert_array_equal(single, maps[1, 0])
        top3 = explainer.explain(x[0], activations[0], scorecam.targets.TopK(3))
        np.testing.assert_array_equal(top3, explainer.explain(x[0], activations[0], list(np.argsort(-logits[0])[:3])))
        # evaluate with the default targets scores each image's own top class
        values = explainer.evaluate(x, maps, None, "average_drop")
        for i, top in enumerate((0, 3)):
            assert values[i, 0] == explainer.evaluate(x[i], maps[i, 0], top, "average_drop")


def test_dict_outputs_and_segmentation_target():
    torch.manual_seed(1)
    seg = SegNet().eval()
    x = np.random.default_rng(5).random((1, 3, 16, 16), dtype=np.float32)
    with pytest.raises(ValueError, match="keys out, aux"):
        TorchModel(seg, "body.1").run(x)
    model = TorchModel(seg, "body.1", output="out", channels_last=False)  # NCHW, as flat_forward
    outputs, activations = model.run(x)
    assert outputs.shape == (1, 3, 16, 16)  # the model's own shape
    mask = np.zeros((16, 16), np.float32)
    mask[4:10, 6:12] = 1
    target = SemanticSegmentationTarget(2, mask)
    seen = []

    def flat_forward(batch):
        with torch.no_grad():
            return seg(torch.from_numpy(batch))["out"].reshape(len(batch), -1).numpy()

    def flat_score(out):
        seen.append(out.shape)
        return target(out.reshape(len(out), 3, 16, 16))

    with Explainer(model) as explainer:
        got = explainer.explain(x[0], activations[0], target)
    with Explainer(flat_forward) as explainer:
        expected = explainer.explain(x[0], activations[0], flat_score)
    assert seen[0] == (1, 768)
    np.testing.assert_array_equal(got, expected)
    # the scoring function sees the model's shape
    shapes = []
    with Explainer(model) as explainer:
        explainer.explain(x[0], activations[0], lambda out: shapes.append(out.shape) or out[:, 0, 0, 0])
    assert shapes[0] == (1, 3, 16, 16) and shapes[-1][1:] == (3, 16, 16)
    # an index into a tuple, and a callable
    tuple_model = TorchModel(torch.nn.Sequential(seg, _Values()), "0.body.1", output=0, channels_last=False)
    np.testing.assert_array_equal(tuple_model(x), outputs)
    by_callable = TorchModel(seg, "body.1", output=lambda raw: raw["aux"])
    assert by_callable(x).shape == (1, 10)


class _Values(torch.nn.Module):
    def forward(self, outputs):
        return outputs["out"], outputs["aux"]


def test_token_activations_reshape():
    torch.manual_seed(2)
    vit = TokenNet().eval()
    x = np.random.default_rng(7).random((2, 3, 16, 16), dtype=np.float32)
    with pytest.raises(ValueError, match="vit_reshape"):
        TorchModel(vit, "block").run(x)
    model = TorchModel(vit, "block", reshape=vit_reshape())
    _, activations = model.run(x)
    captured = {}
    vit.block.register_forward_hook(lambda m, i, o: captured.update(t=o.detach()))
    with torch.no_grad():
        vit(torch.from_numpy(x))
    expected = captured["t"][:, 1:, :].reshape(2, 4, 4, 6).permute(0, 3, 1, 2).numpy()
    np.testing.assert_array_equal(activations, expected)
    with Explainer(model) as explainer:
        assert explainer.explain(x, activations, 1).shape == (2, 1, 16, 16)
    with pytest.raises(ValueError, match="square"):
        vit_reshape(prefix_tokens=2)(captured["t"])


def test_adapter_errors(net, image):
    with pytest.raises(ValueError, match="closest: features.3"):
        TorchModel(net, "features3")
    with pytest.raises(ValueError, match="not a submodule"):
        TorchModel(net, torch.nn.ReLU())
    with pytest.raises(TypeError, match="torch.nn.Module"):
        TorchModel(lambda x: x, "a")
    net.spare = torch.nn.ReLU()  # a submodule forward() never calls
    with pytest.raises(RuntimeError, match="did not run"):
        TorchModel(net, "spare").run(image)


class BarRecorder:
    """Stands in for the progress bar: records the total it was made with and the last update."""

    made = []

    def __init__(self, total, description="scorecam"):
        self.total, self.done = total, 0
        BarRecorder.made.append(self)

    def update(self, done):
        self.done = done

    def close(self):
        pass


def test_progress_totals_come_from_the_engine(monkeypatch, small_case):
    """The bar's total is the engine's count of masked images, which is what the model runs."""
    import scorecam.explainer

    monkeypatch.setattr(scorecam._handle, "make_bar", BarRecorder)
    x, activations, model = small_case  # K = 12 channels
    cases = [(dict(cskip=8), {}, 8), (dict(method="sscam", samples=5), {}, 12 * 5)]
    for options, call, expected in cases:
        cskip = options.pop("cskip", None)
        with Explainer(model, output_dim=7, **options) as explainer:
            BarRecorder.made.clear()
            model.images = 0
            maps = explainer.explain(x, activations, [1, 2], cskip=cskip, progress=True, **call)
            assert [bar.total for bar in BarRecorder.made] == [expected]
            assert BarRecorder.made[0].done == expected == model.images
    with Explainer(model, output_dim=7, metric_steps=20) as explainer:
        BarRecorder.made.clear()
        model.images = 0
        explainer.evaluate(x, maps, [1, 2], "insertion", progress=True)
        assert [bar.total for bar in BarRecorder.made] == [model.images] and model.images >= 2 * 20
