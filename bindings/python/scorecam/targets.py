"""Targets: what a Score-CAM map explains.

`Explainer.explain(x, activations, targets)` and `ScoreCAM.compute(X, coi)` take, besides class
indices, callables that turn a batch of model outputs, in the model's own shape (N, ...), into one
score per image. These helpers follow pytorch-grad-cam's definitions
(`pytorch_grad_cam.utils.model_targets`), batched:

    ClassifierOutputTarget(243)                     outputs[:, 243]; scored inside the engine
    TopK(3)                                         the 3 best classes of the unmasked output
    SemanticSegmentationTarget(category, mask)      sum over the mask of outputs[:, category]
    DetectionBoxScoreTarget(labels, boxes)          per reference box: IoU + score of the best
                                                    matching detection of the same label

A list of targets explains them all from one set of masked forward passes. Outputs may be numpy
arrays or torch tensors; scores come back as numpy float32.

Also here, written once for every caller: the ranking of classes (`top_classes`) and the
resolution of what `Explainer.explain`/`evaluate` accept as targets into what the engine takes.
"""
from __future__ import annotations

from typing import Callable, Sequence, Union

import numpy as np

from ._handle import host_numpy, integers

Targets = Union[None, int, Sequence[int], Callable[[np.ndarray], np.ndarray], Sequence[Callable], "TopK"]


def _numpy(values) -> np.ndarray:
    """numpy view of a numpy array or a (CPU or device) torch tensor."""
    return np.asarray(host_numpy(values))


def top_classes(scores, k: int) -> np.ndarray:
    """The k classes of highest score, best first, from one image's scores (D,) or (1, D).
    Stable: ties keep index order, so the choice is deterministic. (Logits and probabilities rank
    alike.)"""
    row = _numpy(scores).reshape(-1)
    if k > row.size:
        raise ValueError(f"top-{k} of an output with only {row.size} values")
    return np.argsort(-row, kind="stable")[:k].astype(np.int64)


class ClassifierOutputTarget:
    """The output at `category` (a logit, for a classifier). Given to `Explainer`, it is scored
    by the engine itself, like the plain index."""

    def __init__(self, category: int):
        self.category = int(category)

    def __call__(self, outputs) -> np.ndarray:
        outputs = _numpy(outputs)
        if outputs.ndim == 1:
            return outputs[self.category]
        return outputs.reshape(len(outputs), -1)[:, self.category]

    def __repr__(self) -> str:
        return f"ClassifierOutputTarget({self.category})"


class TopK:
    """The k classes of highest output for the unmasked image, best first (k = 1 is what
    `targets=None` means)."""

    def __init__(self, k: int = 1):
        if int(k) < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        self.k = int(k)

    def classes(self, outputs) -> np.ndarray:
        """Class indices (k,) from one image's outputs (1, D) or (D,)."""
        return top_classes(outputs, self.k)

    def __repr__(self) -> str:
        return f"TopK({self.k})"


class SemanticSegmentationTarget:
    """Sum over `mask` (H, W) of the scores of `category` in segmentation outputs (N, C, H, W)
    (pytorch-grad-cam's definition). mean=True divides by the mask's sum: the mean score over the
    region (e.g. a text detector's mean text probability)."""

    def __init__(self, category: int, mask, *, mean: bool = False):
        self.category = int(category)
        self.mask = _numpy(mask).astype(np.float32)
        if self.mask.ndim != 2:
            raise ValueError(f"mask must be (H, W), got shape {self.mask.shape}")
        total = float(self.mask.sum())
        if mean:
            if total == 0:
                raise ValueError("mean=True needs a mask with a non-zero sum")
            self.mask = self.mask / total

    def __call__(self, outputs) -> np.ndarray:
        outputs = _numpy(outputs)
        if outputs.ndim == 3:  # one image (C, H, W), as pytorch-grad-cam calls it
            outputs = outputs[None]
        if outputs.ndim != 4 or outputs.shape[2:] != self.mask.shape:
            raise ValueError(f"outputs {outputs.shape} are not (N, C, H, W) with (H, W) = mask {self.mask.shape}")
        return (outputs[:, self.category] * self.mask).sum(axis=(1, 2), dtype=np.float64).astype(np.float32)

    def __repr__(self) -> str:
        return f"SemanticSegmentationTarget({self.category}, mask {self.mask.shape})"


def box_iou(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of (A, 4) and (B, 4) boxes (x1, y1, x2, y2): (A, B). Empty boxes have IoU 0."""
    boxes, others = np.asarray(boxes, np.float64), np.asarray(others, np.float64)
    area = lambda b: np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)  # noqa: E731
    lo = np.maximum(boxes[:, None, :2], others[None, :, :2])
    hi = np.minimum(boxes[:, None, 2:], others[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=2)
    union = area(boxes)[:, None] + area(others)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def detections_array(detections: Sequence, max_detections: int) -> np.ndarray:
    """Fixed-shape detector outputs (N, max_detections, 6) with rows (x1, y1, x2, y2, score, label),
    padded with zero boxes of score 0 and label -1, from per-image detections given as dicts with
    "boxes", "scores", "labels" (torchvision) or as (boxes, scores[, labels]) tuples; None or empty
    means no detection. The engine needs one output row of fixed length per image: a detector's
    forward for `Explainer` returns this."""
    out = np.zeros((len(detections), max_detections, 6), np.float32)
    out[:, :, 5] = -1
    for n, found in enumerate(detections):
        if found is None:
            continue
        if isinstance(found, dict):
            boxes, scores, labels = found["boxes"], found["scores"], found.get("labels")
        else:
            boxes, scores, labels = (tuple(found) + (None,))[:3]
        if boxes is None or len(boxes) == 0:
            continue
        boxes = _numpy(boxes).reshape(-1, 4)
        scores = _numpy(scores).reshape(-1)
        labels = np.zeros(len(boxes)) if labels is None else _numpy(labels).reshape(-1)
        order = np.argsort(-scores, kind="stable")[:max_detections]  # keep the best when truncating
        m = len(order)
        out[n, :m, :4] = boxes[order]
        out[n, :m, 4] = scores[order]
        out[n, :m, 5] = labels[order]
    return out


class DetectionBoxScoreTarget:
    """pytorch-grad-cam's FasterRCNNBoxScoreTarget, batched: for every reference box (with its
    label), the detection of highest IoU with it counts IoU + its score when that IoU exceeds
    `iou_threshold` and its label is the reference label; the target is the sum over the
    reference boxes. Outputs: (N, M, 6) as `detections_array` writes them."""

    def __init__(self, labels: Sequence[int], bounding_boxes, iou_threshold: float = 0.5):
        self.boxes = _numpy(bounding_boxes).astype(np.float64).reshape(-1, 4)
        self.labels = np.asarray(labels).reshape(-1)
        if len(self.labels) != len(self.boxes):
            raise ValueError(f"{len(self.labels)} labels for {len(self.boxes)} boxes")
        self.iou_threshold = float(iou_threshold)

    def __call__(self, outputs) -> np.ndarray:
        outputs = _numpy(outputs)
        if outputs.ndim == 2:  # one image
            outputs = outputs[None]
        if outputs.ndim != 3 or outputs.shape[2] != 6:
            raise ValueError(f"outputs {outputs.shape} are not (N, M, 6) detections (see detections_array)")
        scores = np.zeros(len(outputs), np.float64)
        for n, found in enumerate(outputs):
            if found.shape[0] == 0:
                continue
            ious = box_iou(self.boxes, found[:, :4])
            for j, label in enumerate(self.labels):
                best = int(np.argmax(ious[j]))
                if ious[j, best] > self.iou_threshold and found[best, 5] == label:
                    scores[n] += ious[j, best] + found[best, 4]
        return scores.astype(np.float32)

    def __repr__(self) -> str:
        return f"DetectionBoxScoreTarget({len(self.boxes)} boxes, iou > {self.iou_threshold})"


# ---- resolution: what explain()/evaluate() accept -> what the engine takes ---------------------

def per_image_classes(targets: Targets, xb: np.ndarray, probe: Callable[[np.ndarray], np.ndarray]):
    """Each image's own classes: for None / TopK its top classes from its unmasked outputs
    (`probe(xb)`); for a (B, T) table of class indices (a list of lists) its row; else None."""
    if _is_table(targets):
        table = integers(targets, "targets")
        if table.shape[0] != xb.shape[0] or table.shape[1] == 0:
            raise ValueError(f"per-image targets must be {xb.shape[0]} rows (one per image) of at least one "
                             f"class, got shape {table.shape}")
        return list(table)
    if targets is not None and not isinstance(targets, TopK):
        return None
    top = targets or TopK(1)
    return [top.classes(row) for row in probe(xb)]


def _is_table(targets) -> bool:
    """A (B, T) table of class indices: a 2-D integer array or tensor, or a list of int lists."""
    if type(targets).__module__.startswith(("numpy", "torch")) and getattr(targets, "ndim", 0) == 2:
        return True
    return (isinstance(targets, (list, tuple)) and bool(targets)
            and all(isinstance(row, (list, tuple, np.ndarray)) for row in targets))


def differ(per_image: list) -> bool:
    """Whether images have different classes (then the engine gets each image's own:
    scorecam_explainer_compute_per_image)."""
    return len(per_image) > 1 and any((classes != per_image[0]).any() for classes in per_image)


def resolve(targets: Targets, xb: np.ndarray, probe: Callable[[np.ndarray], np.ndarray], need_probe: bool):
    """(T, int64 class indices or None, scoring function or None) for the engine. `probe` runs the
    unmasked forward of the first image when the output shape must be learnt (need_probe: D
    unknown) or a scoring function's T found."""
    if isinstance(targets, ClassifierOutputTarget):
        targets = targets.category
    elif isinstance(targets, (list, tuple)) and targets and all(callable(t) for t in targets):
        if all(isinstance(t, ClassifierOutputTarget) for t in targets):
            targets = [t.category for t in targets]
        else:
            targets = _combined(targets)
    if not callable(targets):
        class_targets = np.atleast_1d(np.asarray(targets))
        if class_targets.ndim != 1 or class_targets.size == 0 or not np.issubdtype(class_targets.dtype, np.integer):
            raise TypeError("targets must be None, an int, a non-empty list of ints, TopK, a scoring function "
                            "or a list of scoring functions")
        class_targets = integers(class_targets, "targets")
        if need_probe:
            probe(xb[:1])
        return class_targets.size, class_targets, None
    scores = np.asarray(host_numpy(targets(probe(xb[:1]))), dtype=np.float32)
    if scores.ndim not in (1, 2) or scores.shape[0] != 1:
        raise ValueError(f"the scoring function must return (N,) or (N, T) scores, got {scores.shape} for N=1")
    return (1 if scores.ndim == 1 else scores.shape[1]), None, targets


def single(targets: Targets) -> bool:
    """Targets that give one map per image (returned without a target axis for one image)."""
    return targets is None or callable(targets) or isinstance(targets, (int, np.integer))


def _combined(functions):
    """One scoring function (N, ...) -> (N, T) from T functions that each return (N,)."""
    def score(outputs):
        columns = [np.asarray(host_numpy(f(outputs)), dtype=np.float32).reshape(len(outputs), -1) for f in functions]
        for f, column in zip(functions, columns):
            if column.shape[1] != 1:
                raise ValueError(f"{f!r} returned {column.shape[1]} scores per image; in a list each target gives one")
        return np.concatenate(columns, axis=1)
    return score
