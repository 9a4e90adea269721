"""Model cards: the file format, the preprocessing they describe, the checks a run makes before
any image, and the dataset runner reading pictures through them (issue 18). The torch models
(ResNet-18, LR-ASPP, Faster R-CNN) are in test_model_cards_torch.py."""
from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from conftest import SAMPLE_IMAGE
from dataset_helpers import manifest_rows, run_cli
from scorecam import ModelCard
from scorecam.card import InputSpec, prepare
from scorecam.dataset import UsageError, explain_dataset

# A reddish picture: (R, G, B) = (200, 50, 60) on average.
RED = (200, 50, 60)


def colour_classifier(path: pathlib.Path) -> pathlib.Path:
    """A 4-class ONNX model whose logits are the input's mean per channel and a constant 1.0:
    its top-1 says in which channel order and at which scale the picture arrived (channel 0, 1, 2
    brightest, or every channel below 1). Layer "act" = Relu(x) (N, 3, H, W); any H x W."""
    import onnx
    from onnx import TensorProto, helper

    head = np.concatenate([np.eye(3, dtype=np.float32), np.zeros((3, 1), np.float32)], axis=1)
    nodes = [helper.make_node("Relu", ["input"], ["act"]),
             helper.make_node("GlobalAveragePool", ["act"], ["pooled"]),
             helper.make_node("Flatten", ["pooled"], ["flat"]),
             helper.make_node("MatMul", ["flat", "head"], ["scores"]),
             helper.make_node("Add", ["scores", "bias"], ["logits"])]
    graph = helper.make_graph(
        nodes, "colour", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 4])],
        [onnx.numpy_helper.from_array(head, "head"),
         onnx.numpy_helper.from_array(np.array([0, 0, 0, 1], np.float32), "bias")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.fixture
def red_image(tmp_path):
    from PIL import Image

    # A gentle ramp left to right (+-30), so the activations are not constant; channel means stay RED.
    ramp = np.linspace(-30, 30, 120)[None, :, None]
    pixels = np.clip(np.array(RED, np.float64)[None, None, :] + ramp, 0, 255).round().astype(np.uint8)
    path = tmp_path / "red.png"
    Image.fromarray(np.repeat(pixels, 90, axis=0)).save(path)
    return path


def card_file(folder: pathlib.Path, values: dict, name: str = "card.json") -> pathlib.Path:
    path = folder / name
    path.write_text(json.dumps(values))
    return path


PLAIN = {"model": "colour.onnx", "layer": "act", "output": "logits",
         "input": {"size": [32, 32], "scale": 0.00392156862745098, "mean": [0, 0, 0], "std": [1, 1, 1]},
         "labels": ["red", "green", "blue", "dim"]}


def top1(out: pathlib.Path) -> int:
    rows = manifest_rows(out)
    assert [row["status"] for row in rows] == ["ok"], rows
    return rows[0]["predictions"][0]["class"]


# ---- the file format ----------------------------------------------------------------------------

def test_default_card_ships_in_the_package_and_cli_prints_it():
    result = run_cli("card", "--default")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == ModelCard.default().to_dict()
    assert printed["model"] == "scorecam.models:efficientnet_lite0" and printed["layer"] == "head_relu6"
    assert printed["input"]["mean"] == [0.485, 0.456, 0.406] and printed["task"] == "classify"


def test_json_and_toml_cards_read_the_same(tmp_path):
    pytest.importorskip("tomllib")
    json_card = ModelCard.load(card_file(tmp_path, PLAIN))
    (tmp_path / "card.toml").write_text(
        'model = "colour.onnx"\nlayer = "act"\noutput = "logits"\nlabels = ["red", "green", "blue", "dim"]\n'
        '[input]\nsize = [32, 32]\nscale = 0.00392156862745098\nmean = [0, 0, 0]\nstd = [1, 1, 1]\n')
    assert ModelCard.load(tmp_path / "card.toml") == json_card
    assert ModelCard.from_dict(json_card.to_dict()) == json_card  # the JSON form round-trips


@pytest.mark.parametrize("values, message", [
    ({**PLAIN, "outptus": "logits"}, "unknown field 'outptus' (did you mean 'outputs'?)"),
    ({**PLAIN, "input": {"size": [32, 32], "meen": [0, 0, 0]}}, "unknown field 'meen' (did you mean 'mean'?)"),
    ({**PLAIN, "task": "caption"}, "'task' must be one of classify, segment, detect"),
    ({**PLAIN, "input": {"size": [0, 32]}}, "'input.size' must be an integer >= 1"),
    ({**PLAIN, "input": {"size": [32, 32], "std": [1, 0, 1]}}, "'input.std' must be positive"),
    ({**PLAIN, "input": {"size": [224, 224], "resize": "shorter_side_then_center_crop", "resize_to": 200}},
     "must be at least the larger side"),
    ({k: v for k, v in PLAIN.items() if k != "model"}, "the field 'model' is missing"),
    ({**PLAIN, "input": {"mean": float("nan")}}, "'input.mean' must be a finite number"),
])
def test_a_bad_card_is_one_clear_usage_error(tmp_path, values, message):
    with pytest.raises(UsageError, match=None) as raised:
        ModelCard.load(card_file(tmp_path, values))
    assert message in str(raised.value)


def test_paths_are_relative_to_the_card_and_labels_read_every_way(tmp_path):
    (tmp_path / "cards").mkdir()
    (tmp_path / "cards" / "names.txt").write_text("zero\none\n\n")
    (tmp_path / "cards" / "names.json").write_text('{"0": "zero", "2": "two"}')
    card = ModelCard.load(card_file(tmp_path / "cards", {**PLAIN, "labels": "names.txt"}))
    assert card.path(card.model) == tmp_path / "cards" / "colour.onnx"
    assert card.label_names() == ["zero", "one"]
    assert card.replace(labels="names.json").label_names() == ["zero", "class 1", "two"]
    assert card.replace(labels=["a", "b"]).label_names() == ["a", "b"]


def test_flat_overrides_change_the_input_fields():
    card = ModelCard.from_dict(PLAIN).replace(size=[192, 256], bgr=True, mean=[1, 2, 3], scale=1)
    assert card.input == InputSpec(size=(192, 256), scale=1.0, mean=(1.0, 2.0, 3.0), std=(1.0, 1.0, 1.0),
                                   channels="BGR")


# ---- preprocessing ------------------------------------------------------------------------------

def test_the_default_card_gives_the_default_models_exact_input():
    from PIL import Image
    from scorecam.models import _lite0

    image = Image.open(SAMPLE_IMAGE).convert("RGB")
    x, geometry = prepare(image, ModelCard.default().input)
    assert np.array_equal(x, _lite0.preprocess(image)) and geometry.whole


@pytest.mark.parametrize("size", [(224, 224), (192, 224)])
def test_centre_crop_is_torchvisions_resize_then_center_crop(size):
    transforms = pytest.importorskip("torchvision.transforms")
    from PIL import Image

    image = Image.open(SAMPLE_IMAGE).convert("RGB")
    spec = InputSpec(size=size, resize="shorter_side_then_center_crop", resize_to=256,
                     mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)).replace()
    x, geometry = prepare(image, spec)
    reference = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(size), transforms.ToTensor(),
                                    transforms.Normalize(spec.mean, spec.std)])(image)
    np.testing.assert_allclose(x[0], reference.numpy(), atol=1e-6)
    # The crop's region in the 640x480 picture: 480 -> 256 scales by 15/8; the crop is centred.
    x0, y0, x1, y1 = geometry.box
    assert (y1 - y0) == pytest.approx(size[0] * 480 / 256) and (x0 + x1) / 2 == pytest.approx(320, abs=2)


# ---- the runner with a card ---------------------------------------------------------------------

def test_the_card_decides_the_prediction_and_flags_override_it(tmp_path, red_image):
    colour_classifier(tmp_path / "colour.onnx")
    card = card_file(tmp_path, PLAIN)

    def predicted(name, *flags, model=("--card", card)):
        result = run_cli("explain", red_image, "-o", tmp_path / name, *model, "--cskip", "2", *flags,
                         cwd=tmp_path, timeout=300)
        assert result.returncode == 0, result.stderr
        return top1(tmp_path / name), result.stderr

    assert predicted("card")[0] == 3                   # 0..1 inputs: every channel below the constant
    no_card, warned = predicted("default", "--layer", "act", model=("--model", tmp_path / "colour.onnx"))
    assert no_card == 0 and "no model card" in warned  # ImageNet mean/std: red above 1
    assert predicted("scale", "--scale", "1")[0] == 0  # 0..255: red brightest
    assert predicted("bgr", "--scale", "1", "--bgr")[0] == 2  # BGR: red arrives third


def test_a_non_square_input_and_the_labels_reach_the_row_and_files(tmp_path, red_image):
    colour_classifier(tmp_path / "colour.onnx")
    card = ModelCard.load(card_file(tmp_path, {**PLAIN, "input": {**PLAIN["input"], "size": [192, 256]}}))
    summary = explain_dataset([red_image], tmp_path / "out", model=card, cskip=2, save_maps=True)
    assert summary.ok == 1
    row = manifest_rows(tmp_path / "out")[0]
    assert row["predictions"][0]["label"] == "dim" and row["files"][0] == "red_3_dim.png"
    with np.load(tmp_path / "out" / "red.maps.npz") as saved:
        assert saved["maps"].shape[-2:] == (192, 256)
    from PIL import Image

    assert Image.open(tmp_path / "out" / "red_3_dim.png").size == (120, 90)  # the picture's own size
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["card"]["input"]["size"] == [192, 256]


def test_an_onnx_file_carrying_its_card_needs_no_other(tmp_path, red_image):
    ModelCard.load(card_file(tmp_path, PLAIN)).embed(colour_classifier(tmp_path / "plain.onnx"), tmp_path / "colour.onnx")
    result = run_cli("explain", red_image, "-o", tmp_path / "out", "--model", "colour.onnx", "--cskip", "2",
                     cwd=tmp_path, timeout=300)
    assert result.returncode == 0 and "no model card" not in result.stderr, result.stderr
    assert top1(tmp_path / "out") == 3
    printed = run_cli("card", tmp_path / "colour.onnx")
    assert json.loads(printed.stdout)["labels"] == PLAIN["labels"]


def test_changing_a_card_field_redoes_the_images_and_nothing_else_does(tmp_path, red_image):
    colour_classifier(tmp_path / "colour.onnx")
    card = ModelCard.load(card_file(tmp_path, PLAIN))
    out = tmp_path / "out"
    first = explain_dataset([red_image], out, model=card, cskip=2)
    same = explain_dataset([red_image], out, model=ModelCard.load(card_file(tmp_path, PLAIN)), cskip=2)
    changed = explain_dataset([red_image], out, model=card.replace(mean=[0.1, 0.1, 0.1]), cskip=2)
    relabelled = explain_dataset([red_image], out, model=card.replace(labels=["r", "g", "b", "d"]), cskip=2)
    assert (first.ok, same.ok, same.skipped, changed.ok, relabelled.ok) == (1, 0, 1, 1, 1)
    rows = manifest_rows(out)
    assert len(rows) == 1 and rows[0]["card"] == json.loads((out / "summary.json").read_text())["card"]["id"]


# ---- checks before any work -----------------------------------------------------------------------

def fixed_size_classifier(path: pathlib.Path) -> pathlib.Path:
    """The colour classifier with a fixed 32x32 input (a Reshape that only fits 32x32)."""
    import onnx
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Relu", ["input"], ["act"]),
             helper.make_node("Reshape", ["act", "shape"], ["flat"]),
             helper.make_node("ReduceMean", ["flat"], ["logits"], axes=[2], keepdims=0)]
    graph = helper.make_graph(
        nodes, "fixed", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])],
        [onnx.numpy_helper.from_array(np.array([-1, 3, 1024], np.int64), "shape")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)]), path)
    return path


@pytest.mark.parametrize("change, message", [
    ({"input": {"size": [48, 40]}}, "the model does not run on its card's input size (1x3x48x40)"),
    ({"layer": "flat"}, "not (N, K, h, w)"),
    ({"labels": ["a", "b"]}, "the labels list 2 names but the model scores 3 classes"),
    ({"task": "detect"}, "a detect card needs a forward returning (N, M, 6) rows"),
    ({"task": "segment"}, "a segment card needs outputs (N, C, H, W)"),
])
def test_a_card_that_does_not_fit_the_model_stops_before_any_image(tmp_path, red_image, change, message):
    fixed_size_classifier(tmp_path / "fixed.onnx")
    card = card_file(tmp_path, {"model": "fixed.onnx", "layer": "act", "input": {"size": [32, 32]}, **change})
    result = run_cli("explain", red_image, "-o", tmp_path / "out", "--card", card, cwd=tmp_path, timeout=300)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "out" / "manifest.jsonl").exists()


def test_probabilities_that_do_not_sum_to_one_are_warned_about(tmp_path, red_image):
    colour_classifier(tmp_path / "colour.onnx")
    card = ModelCard.load(card_file(tmp_path, {**PLAIN, "outputs": "probabilities"}))
    with pytest.warns(UserWarning, match="outputs are probabilities, but they sum to"):
        explain_dataset([red_image], tmp_path / "out", model=card, cskip=2)


def test_sigmoid_cards_explain_every_class_above_the_threshold(tmp_path, red_image):
    colour_classifier(tmp_path / "colour.onnx")
    # Scale 1/100: R = 2.0, G = 0.5, B = 0.6, constant 1.0 -> sigmoid 0.88, 0.62, 0.65, 0.73.
    card = ModelCard.load(card_file(tmp_path, {**PLAIN, "outputs": "sigmoid", "threshold": 0.7}))
    explain_dataset([red_image], tmp_path / "out", model=card.replace(scale=0.01), cskip=2)
    row = manifest_rows(tmp_path / "out")[0]
    assert row["targets"] == [0, 3] and len(row["files"]) == 2


def test_card_check_loads_the_model_and_reports_a_misfit_in_one_line(tmp_path):
    colour_classifier(tmp_path / "colour.onnx")
    good = run_cli("card", card_file(tmp_path, PLAIN), "--check")
    assert good.returncode == 0 and json.loads(good.stdout)["labels"] == PLAIN["labels"], good.stderr
    bad = run_cli("card", card_file(tmp_path, {**PLAIN, "labels": ["one"]}, "bad.json"), "--check")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "labels list 1 names" in bad.stderr
