"""Score-CAM for a face detector: MTCNN from facenet-pytorch (its wheel carries the weights).

MTCNN finds the astronaut's face in scikit-image's `astronaut()`. The explained score is the
detector's own, for that box, as pytorch-grad-cam scores detections (FasterRCNNBoxScoreTarget):
IoU with the original box + the face probability of the best-matching detection, 0 when the face
is no longer found there. Each masked image goes through the whole detector (image pyramid,
P-/R-/O-Net, NMS).

The masks come from semantic features, EfficientNet-Lite0's last layer (the default model): MTCNN's
own first stage (P-Net, three convolutions) sees only edges, and masks made from it do not
separate the face from the rest. Any activations serve as Score-CAM's mask basis; the scores are
the detector's. With detection scores (0 when the face is lost, about 2 when kept), the weights
are the scores themselves (weighting="raw", the paper's choice): a softmax over so narrow a range
would weigh every mask almost alike.

    pip install --no-deps facenet-pytorch && pip install requests tqdm
    python examples/python/face_detection.py -o out/

Writes out/face_detection.png.
"""
from __future__ import annotations

import argparse
import pathlib

import numpy as np

from scorecam import Explainer
from scorecam.models import efficientnet_lite0
from scorecam.targets import DetectionBoxScoreTarget, detections_array

MAX_DETECTIONS = 8
CHANNELS = 32  # Faster-Score-CAM: the 32 channels of largest spatial std


def load_image() -> np.ndarray:
    import skimage.data

    return skimage.data.astronaut()  # (512, 512, 3) uint8


def make_detector():
    try:
        from facenet_pytorch import MTCNN
    except ImportError as error:
        raise SystemExit("needs facenet-pytorch: pip install --no-deps facenet-pytorch; pip install requests tqdm") from error
    # Faces of 60 px and up: fewer pyramid levels, a faster forward.
    return MTCNN(keep_all=True, device="cpu", min_face_size=60)


def detector_forward(mtcnn):
    """(N, 3, H, W) images in 0..255 -> (N, MAX_DETECTIONS, 6) detections, fixed shape."""

    def forward(batch: np.ndarray) -> np.ndarray:
        boxes, probabilities = mtcnn.detect(np.ascontiguousarray(batch.transpose(0, 2, 3, 1)))
        return detections_array(list(zip(boxes, probabilities)), MAX_DETECTIONS)

    return forward


def explain_face():
    """Returns (image, face box (x1, y1, x2, y2), Score-CAM map)."""
    from PIL import Image

    image = load_image()
    mtcnn = make_detector()
    boxes, probabilities = mtcnn.detect(Image.fromarray(image))
    if boxes is None:
        raise RuntimeError("no face found")
    face = boxes[int(np.argmax(probabilities))]
    bundle = efficientnet_lite0()
    _, activations = bundle.onnx().run(bundle.preprocess(Image.fromarray(image)))  # (1, 1280, 7, 7)
    x = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)  # the detector's input
    target = DetectionBoxScoreTarget(labels=[0], bounding_boxes=[face])  # MTCNN's one label: face
    with Explainer(detector_forward(mtcnn), batch_size=16, selection="std", selection_count=CHANNELS,
                   weighting="raw") as explainer:
        heatmap = explainer.explain(x, activations[0], target)
    return image, face, heatmap


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=pathlib.Path, default=pathlib.Path("."))
    args = parser.parse_args()
    from scorecam.imaging import overlay, save_png

    image, face, heatmap = explain_face()
    y, x = np.unravel_index(np.argmax(heatmap), heatmap.shape)
    x1, y1, x2, y2 = face
    inside = x1 <= x <= x2 and y1 <= y <= y2
    print(f"face box ({x1:.0f}, {y1:.0f}, {x2:.0f}, {y2:.0f}); map maximum at ({x}, {y}), "
          f"{'inside' if inside else 'OUTSIDE'} the box")
    picture = overlay(image, heatmap)
    left, top, right, bottom = (int(round(v)) for v in face)
    picture[top:bottom, [left, right - 1]] = picture[[top, bottom - 1], left:right] = 255
    args.output.mkdir(parents=True, exist_ok=True)
    save_png(args.output / "face_detection.png", picture)
    print(f"wrote {args.output / 'face_detection.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
