"""The default model end to end: predictions, where the maps peak, and the CLI."""
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import scorecam
from conftest import SAMPLE_IMAGE
from scorecam.models import efficientnet_lite0

skimage_data = pathlib.Path(pytest.importorskip("skimage").__file__).parent / "data"


@pytest.fixture(scope="module")
def bundle():
    return efficientnet_lite0()


@pytest.fixture(scope="module")
def onnx_model(bundle):
    return bundle.onnx()


def peak(heatmap):
    y, x = np.unravel_index(np.argmax(heatmap), heatmap.shape)
    return int(y), int(x)


@pytest.mark.slow  # ~8 s each; test_dog_above_cat stays in the quick tier
@pytest.mark.parametrize("image, expected, box", [
    # box: (top, bottom, left, right) of the object in the 224 x 224 input
    ("chelsea.png", 285, (20, 200, 30, 190)),   # Egyptian cat: the cat's face
    ("coffee.png", 967, (5, 140, 55, 155)),     # espresso: the cup
])
def test_predicts_and_explains_the_object(bundle, onnx_model, image, expected, box):
    x = bundle.preprocess(skimage_data / image)
    logits, activations = onnx_model.run(x)
    assert int(logits.argmax()) == expected
    assert bundle.labels[expected] in ("Egyptian cat", "espresso")
    with scorecam.Explainer(onnx_model.forward) as explainer:
        heatmap = explainer.explain(x[0], activations[0], expected)
    y, x_ = peak(heatmap)
    assert box[0] <= y <= box[1] and box[2] <= x_ <= box[3], (y, x_)


def test_dog_above_cat(bundle, onnx_model):
    x = bundle.preprocess(SAMPLE_IMAGE)
    logits, activations = onnx_model.run(x)
    assert int(logits.argmax()) == 243  # bull mastiff
    with scorecam.Explainer(onnx_model.forward) as explainer:
        dog, cat = explainer.explain(x[0], activations[0], [243, 282])
    assert peak(dog)[0] < 112   # the dog sits in the upper half
    assert peak(cat)[0] >= 112  # the cat lies in the lower half


def test_lite0_build_is_deterministic(tmp_path):
    from scorecam.models import _lite0

    weights = _lite0.find_weights()
    _lite0.build_onnx(weights, tmp_path / "a.onnx")
    _lite0.build_onnx(weights, tmp_path / "b.onnx")
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes()


def test_lite0_reader_refuses_foreign_pickles(tmp_path):
    import pickle

    from scorecam.models import _lite0

    evil = tmp_path / "evil.pth"
    with open(evil, "wb") as f:
        pickle.dump(_lite0._MAGIC, f, protocol=2)
        pickle.dump(_lite0._PROTOCOL, f, protocol=2)
        pickle.dump({"protocol_version": 1001, "little_endian": True}, f, protocol=2)
        f.write(b"cos\nsystem\n(S'echo pwned'\ntR.")
    with pytest.raises(_lite0.WeightsFormatError, match="refusing"):
        _lite0.load_state_dict(evil)


def test_cli_writes_overlays(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "scorecam", "explain", str(skimage_data / "chelsea.png"), "--top", "2",
         "--cskip", "16", "-o", str(tmp_path)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "285 Egyptian cat" in result.stdout
    assert "17 forward passes" in result.stdout
    from PIL import Image

    written = sorted(tmp_path.glob("*.png"))
    assert len(written) == 2 and written[0].name.startswith("chelsea_")
    with Image.open(skimage_data / "chelsea.png") as original:
        size = original.size
    for path in written:  # overlays at the original image's size
        with Image.open(path) as picture:
            picture.load()
            assert picture.format == "PNG" and picture.size == size and picture.mode == "RGB"


def test_cli_rejects_model_without_layer(tmp_path):
    from scorecam.models import efficientnet_lite0

    result = subprocess.run([sys.executable, "-m", "scorecam", "explain", "x.png", "--model",
                             str(efficientnet_lite0().path), "-o", str(tmp_path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and "needs 'layer' (--layer" in result.stderr


def test_a_default_model_file_others_could_write_is_not_used(tmp_path, monkeypatch):
    from scorecam.models import efficientnet_lite0

    monkeypatch.setenv("SCORECAM_CACHE_DIR", str(tmp_path / "cache"))
    first = efficientnet_lite0()
    assert first.path.parent == tmp_path / "cache" and (tmp_path / "cache").stat().st_mode & 0o777 == 0o700
    first.path.write_bytes(b"planted")  # what another user could put there, were it writable
    first.path.chmod(0o666)
    with pytest.warns(RuntimeWarning, match="writable by others"):
        second = efficientnet_lite0()
    assert second.path != first.path and second.path.read_bytes()[:4] != b"plan"
    second.onnx()  # a real model
