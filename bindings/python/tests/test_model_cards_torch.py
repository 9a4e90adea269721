"""Torch models through model cards (issue 18): a torchvision ResNet-18 by `package.module:factory`
and as a TorchScript file, LR-ASPP segmentation and Faster R-CNN detection runs, and TorchModel on
a layer that returns a dict (a detection backbone) with a reshape. Random weights, seeded: the
point is the plumbing (which pixels, which targets, which files), not what the nets see."""
from __future__ import annotations

import json
import sys
import textwrap

import numpy as np
import pytest

from conftest import SAMPLE_IMAGE
from dataset_helpers import manifest_rows

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from scorecam import Explainer, ModelCard  # noqa: E402
from scorecam.card import prepare  # noqa: E402
from scorecam.dataset import explain_dataset  # noqa: E402
from scorecam.torch import TorchModel, feature_pyramid_reshape  # noqa: E402

NETS = '''
import torch, torchvision

def resnet18():
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None)

def lraspp():
    torch.manual_seed(0)
    return torchvision.models.segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None,
                                                                     num_classes=3)

def fasterrcnn():
    torch.manual_seed(0)
    return torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, num_classes=4, box_score_thresh=0.0)
'''
IMAGENET = {"scale": 0.00392156862745098, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
RESNET = {"model": "nets:resnet18", "layer": "layer4",
          "input": {"size": [96, 128], "resize": "shorter_side_then_center_crop", "resize_to": 128, **IMAGENET}}


@pytest.fixture
def nets(tmp_path):
    """A folder with the cards' model code (nets.py); the runner imports it from the card's folder."""
    (tmp_path / "nets.py").write_text(textwrap.dedent(NETS))
    sys.path.insert(0, str(tmp_path))  # for the tests' own `import nets`
    yield tmp_path
    sys.modules.pop("nets", None)
    while str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


def by_hand(net, layer, card: ModelCard, targets=None, **options):
    """What a user writes without the runner: the card's input, TorchModel, Explainer."""
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(Image.open(SAMPLE_IMAGE)).convert("RGB")
    x, _ = prepare(image, card.input)
    model = TorchModel(net, layer)
    outputs, activations = model.run(x)
    chosen = int(np.argmax(outputs[0])) if targets is None else targets
    with Explainer(model, output_dim=outputs[0].size, progress=False, **options) as explainer:
        return chosen, explainer.explain(x[0], activations[0], [chosen])


def saved_maps(out):
    with np.load(out / f"{SAMPLE_IMAGE.stem}.maps.npz") as saved:
        return saved["maps"]


def test_a_factory_card_gives_the_maps_of_torchmodel_by_hand(nets):
    card = ModelCard.from_dict(RESNET, base_dir=nets)
    summary = explain_dataset([SAMPLE_IMAGE], nets / "out", model=card, cskip=8, save_maps=True, workers=1)
    assert summary.ok == 1
    row = manifest_rows(nets / "out")[0]
    import nets as module

    chosen, expected = by_hand(module.resnet18(), "layer4", card, cskip=8)
    assert row["targets"] == [chosen] and row["predictions"][0]["label"] == f"class {chosen}"
    np.testing.assert_allclose(saved_maps(nets / "out"), expected, rtol=1e-5, atol=1e-6)


def test_a_torchscript_card_runs_through_onnx_runtime_with_the_same_maps(nets):
    import nets as module

    net = module.resnet18().eval()
    scripted = torch.jit.script(net)
    scripted.save(str(nets / "resnet18.pt"))
    card = ModelCard.from_dict({**RESNET, "model": "resnet18.pt"}, base_dir=nets)
    summary = explain_dataset([SAMPLE_IMAGE], nets / "out", model=card, cskip=8, save_maps=True, workers=1)
    assert summary.ok == 1, summary.failures
    chosen, expected = by_hand(net, "layer4", card, cskip=8)
    assert manifest_rows(nets / "out")[0]["targets"] == [chosen]
    maps = saved_maps(nets / "out")
    assert np.abs(maps - expected).max() <= 1e-3 * np.abs(expected).max()


def test_a_segment_card_explains_each_class_present_with_its_region(nets):
    card = ModelCard.from_dict({"model": "nets:lraspp", "layer": "backbone", "output": "out",
                                "reshape": "feature_pyramid", "input": {"size": [96, 128], **IMAGENET},
                                "labels": ["background", "road", "sky"], "task": "segment", "min_area": 0.0},
                               base_dir=nets)
    summary = explain_dataset([SAMPLE_IMAGE], nets / "out", model=card, cskip=4, workers=1, save_maps=True)
    assert summary.ok == 1, summary.failures
    row = manifest_rows(nets / "out")[0]
    import nets as module

    net = module.lraspp().eval()
    from PIL import Image

    x, _ = prepare(Image.open(SAMPLE_IMAGE).convert("RGB"), card.input)
    with torch.inference_mode():
        predicted = net(torch.from_numpy(x))["out"][0].argmax(0).numpy()
    areas = np.bincount(predicted.reshape(-1), minlength=3) / predicted.size
    present = [int(c) for c in np.argsort(-areas, kind="stable") if areas[c] > 0]
    assert row["task"] == "segment" and row["targets"] == present
    assert row["areas"] == pytest.approx([areas[c] for c in present], abs=1e-6)
    overlays = [name for name in row["files"] if name.endswith(".png")]
    assert len(overlays) == len(present)
    assert all(Image.open(nets / "out" / name).size == (640, 480) for name in overlays)
    assert saved_maps(nets / "out").shape[0] == len(present)


def test_a_detect_card_explains_each_box_and_draws_it(nets):
    card = ModelCard.from_dict({"model": "nets:fasterrcnn", "layer": "backbone", "output": "torchvision_detections",
                                "reshape": "feature_pyramid", "input": {"size": [128, 160]}, "task": "detect",
                                "score_threshold": 0.0, "max_detections": 10}, base_dir=nets)
    summary = explain_dataset([SAMPLE_IMAGE], nets / "out", model=card, targets="top2", cskip=2, workers=1)
    assert summary.ok == 1, summary.failures
    row = manifest_rows(nets / "out")[0]
    assert row["task"] == "detect" and len(row["targets"]) == 2 == len(row["boxes"]) == len(row["scores"])
    assert row["scores"] == sorted(row["scores"], reverse=True)
    for box in row["boxes"]:  # original-image pixels: inside the 640x480 picture
        assert 0 <= box[0] <= box[2] <= 640 and 0 <= box[1] <= box[3] <= 480
    from PIL import Image

    assert [Image.open(nets / "out" / name).size for name in row["files"]] == [(640, 480)] * 2
    assert json.loads((nets / "out" / "summary.json").read_text())["card"]["task"] == "detect"


def gradcam_style_fpn_reshape(levels):
    """pytorch-grad-cam's fasterrcnn_reshape_transform as its docs describe it: every level's
    absolute values resized bilinearly to the "pool" level's size, concatenated on channels."""
    size = levels["pool"].shape[-2:]
    return torch.cat([torch.nn.functional.interpolate(torch.abs(v), size, mode="bilinear")
                      for v in levels.values()], dim=1)


def test_a_dict_valued_layer_works_with_a_reshape_and_says_so_without(nets):
    import nets as module

    net = module.fasterrcnn().eval()
    x = torch.rand(1, 3, 128, 160)
    with TorchModel(net, "backbone", output=lambda raw: torch.zeros(len(raw), 1)) as model:
        with pytest.raises(ValueError, match="returns a OrderedDict with keys 0, 1, pool.*pass reshape="):
            model.run(x)
    with TorchModel(net, "backbone", reshape=gradcam_style_fpn_reshape,
                    output=lambda raw: torch.zeros(len(raw), 1)) as model:
        _, expected = model.run(x)
    with TorchModel(net, "backbone", reshape=feature_pyramid_reshape("pool"),
                    output=lambda raw: torch.zeros(len(raw), 1)) as model:
        _, ours = model.run(x)
    assert expected.ndim == 4 and np.array_equal(ours, expected)


@pytest.mark.slow
def test_worker_processes_load_a_factory_card_themselves(nets, tmp_path):
    from dataset_helpers import ordinary_images

    images = ordinary_images(tmp_path / "photos", 3)
    card = ModelCard.from_dict(RESNET, base_dir=nets)
    one = explain_dataset(images, tmp_path / "one", model=card, cskip=4, save_maps=True, workers=1)
    two = explain_dataset(images, tmp_path / "two", model=card, cskip=4, save_maps=True, workers=2)
    assert (one.ok, two.ok, two.backend) == (3, 3, "pool")
    for image in images:
        with np.load(tmp_path / "one" / f"{image.stem}.maps.npz") as a, \
                np.load(tmp_path / "two" / f"{image.stem}.maps.npz") as b:
            np.testing.assert_allclose(a["maps"], b["maps"], rtol=1e-5, atol=1e-6)


def test_a_model_object_runs_in_this_process_with_a_cards_preprocessing(nets):
    import nets as module

    from scorecam.dataset import UsageError

    net = module.resnet18()
    card = ModelCard.from_dict(RESNET, base_dir=nets)
    with TorchModel(net, "layer4") as model:
        with pytest.raises(UsageError, match="a model object runs in this process only"):
            explain_dataset([SAMPLE_IMAGE], nets / "refused", model=card.replace(model=model), workers=2)
        summary = explain_dataset([SAMPLE_IMAGE], nets / "out", model=card.replace(model=model), cskip=8,
                                  save_maps=True)
    assert summary.ok == 1 and summary.backend == "process"
    _, expected = by_hand(module.resnet18(), "layer4", card, cskip=8)
    np.testing.assert_allclose(saved_maps(nets / "out"), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_a_factory_building_other_weights_in_each_worker_is_refused(tmp_path):
    from dataset_helpers import run_cli

    (tmp_path / "unseeded.py").write_text("import torchvision\n\ndef resnet18():\n"
                                          "    return torchvision.models.resnet18(weights=None)\n")
    (tmp_path / "card.json").write_text(json.dumps({"model": "unseeded:resnet18", "layer": "layer4",
                                                    "input": {"size": [64, 64]}}))
    result = run_cli("explain", SAMPLE_IMAGE, SAMPLE_IMAGE.parent, "-o", tmp_path / "out", "--card",
                     tmp_path / "card.json", "--cskip", "2", "--workers", "2", timeout=300)
    assert result.returncode == 2 and "this worker's model differs from the one the run was checked with" \
        in result.stderr, result.stderr
