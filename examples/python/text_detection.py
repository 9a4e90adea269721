"""Score-CAM for a text detector (segmentation-style output) through ONNX Runtime.

The model is PP-OCRv4's text detector (DBNet: an image in, a text-probability map out), shipped
inside the `rapidocr-onnxruntime` wheel. We paste one line of printed text (scikit-image's
`page()`) onto a photograph (`camera()`), detect the text region, and explain the detector's mean
text probability over that region: which parts of the image make the detector see text there.

    pip install --no-deps rapidocr-onnxruntime     # only the model file is used
    python examples/python/text_detection.py -o out/

Writes out/text_detection.png (the image, the region's outline and the map).
"""
from __future__ import annotations

import argparse
import importlib.util
import pathlib

import numpy as np

from scorecam import Explainer
from scorecam.onnx import OnnxModel
from scorecam.targets import SemanticSegmentationTarget

# The detector's fused neck features after the head's first conv + BN + ReLU: 24 channels at
# 1/4 resolution (found with `python -m scorecam layers ch_PP-OCRv4_det_infer.onnx`).
LAYER = "batch_norm_0.tmp_4"
THRESHOLD = 0.3  # DBNet's usual binarization threshold of the probability map


def detector_path() -> pathlib.Path:
    """The ONNX file inside the installed wheel (found without importing the package, whose
    runtime dependencies --no-deps leaves out)."""
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("needs the rapidocr-onnxruntime wheel: pip install --no-deps rapidocr-onnxruntime")
    return pathlib.Path(list(spec.submodule_search_locations)[0]) / "models" / "ch_PP-OCRv4_det_infer.onnx"


def make_image() -> np.ndarray:
    """(192, 384) uint8: a photograph with one line of print pasted at rows 140-159, columns 100-341."""
    import skimage.data
    from PIL import Image

    bicubic = getattr(Image, "Resampling", Image).BICUBIC
    canvas = np.asarray(Image.fromarray(skimage.data.camera()).resize((384, 192), bicubic)).copy()
    line = skimage.data.page()[48:68, 8:250]
    canvas[140:160, 100:342] = line
    return canvas


def preprocess(gray: np.ndarray) -> np.ndarray:
    """PP-OCR's normalization, (x / 255 - 0.5) / 0.5, on 3 channels: (3, H, W) float32; H and W
    must be multiples of 32."""
    return np.ascontiguousarray(np.repeat(((gray / 255.0 - 0.5) / 0.5)[None], 3, 0), dtype=np.float32)


def largest_region(probability: np.ndarray) -> np.ndarray:
    """The largest connected region of probability > THRESHOLD, as a boolean mask."""
    from scipy import ndimage

    labels, count = ndimage.label(probability > THRESHOLD)
    if count == 0:
        raise RuntimeError("the detector found no text")
    sizes = ndimage.sum(np.ones_like(labels), labels, range(1, count + 1))
    return labels == 1 + int(np.argmax(sizes))


def explain_text_region(threads: int = 0):
    """Returns (image, region mask, Score-CAM map)."""
    model = OnnxModel(detector_path(), LAYER, threads=threads)
    image = make_image()
    x = preprocess(image)
    probability, activations = model.run(x[None])  # (1, 1, H, W), (1, 24, H/4, W/4)
    region = largest_region(probability[0, 0])
    # Mean text probability over the region; outputs reach it as (N, 1, H, W), the model's shape.
    target = SemanticSegmentationTarget(0, region, mean=True)
    with Explainer(model, batch_size=8) as explainer:
        heatmap = explainer.explain(x, activations[0], target)
    return image, region, heatmap


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=pathlib.Path, default=pathlib.Path("."))
    args = parser.parse_args()
    from scorecam.imaging import overlay, save_png

    image, region, heatmap = explain_text_region()
    ys, xs = np.nonzero(region)
    y, x = np.unravel_index(np.argmax(heatmap), heatmap.shape)
    print(f"text region: x {xs.min()}-{xs.max()}, y {ys.min()}-{ys.max()}; map maximum at ({x}, {y}), "
          f"{'inside' if region[y, x] else 'OUTSIDE'} the region")
    rgb = np.repeat(image[:, :, None], 3, 2)
    picture = overlay(rgb, heatmap)
    from scipy import ndimage

    picture[region & ~ndimage.binary_erosion(region)] = (255, 255, 255)  # the region's outline
    args.output.mkdir(parents=True, exist_ok=True)
    save_png(args.output / "text_detection.png", picture)
    print(f"wrote {args.output / 'text_detection.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
