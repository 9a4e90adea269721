"""The hosts beyond classification land on their object (make test-examples-python)."""
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import face_detection  # noqa: E402
import text_detection  # noqa: E402


def test_face_detector_map_peaks_inside_the_face_box():
    image, face, heatmap = face_detection.explain_face()
    x1, y1, x2, y2 = face
    assert 150 < x1 < x2 < 300 and 30 < y1 < y2 < 200  # the astronaut's face, as MTCNN finds it
    assert heatmap.shape == image.shape[:2] and heatmap.max() > 0
    y, x = np.unravel_index(np.argmax(heatmap), heatmap.shape)
    assert x1 <= x <= x2 and y1 <= y <= y2, (x, y, face)


def test_text_detector_map_peaks_inside_the_text_region():
    image, region, heatmap = text_detection.explain_text_region()
    ys, xs = np.nonzero(region)
    # the pasted line of print (rows 140-159, columns 100-341), not the photograph
    assert 135 <= ys.min() and ys.max() <= 165 and 95 <= xs.min() and xs.max() <= 345
    assert heatmap.shape == image.shape and heatmap.max() > 0
    y, x = np.unravel_index(np.argmax(heatmap), heatmap.shape)
    assert region[y, x], (x, y)
