"""What a dataset run explains in one image, per card task, from the image's unmasked outputs:

  classify  the top classes (logits: softmax probabilities; probabilities as they are) or, for
            sigmoid outputs, every class above the card's threshold; or the classes given;
  segment   every class whose predicted region (the per-pixel argmax) covers at least the card's
            min_area of the picture, each explained with SemanticSegmentationTarget over it;
  detect    every detection scoring at least the card's score_threshold, each explained with
            DetectionBoxScoreTarget on its box and label.

A Plan holds the engine's targets and what the manifest row records about them."""
from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import numpy as np

from ..targets import DetectionBoxScoreTarget, SemanticSegmentationTarget, top_classes

TOP_PREDICTIONS = 5


@dataclasses.dataclass
class Plan:
    targets: list                # class indices, or scoring functions (one per target)
    classes: list                # the class of each target
    predictions: list            # the row's "predictions"
    details: dict = dataclasses.field(default_factory=dict)  # per-target lists: areas, boxes, scores
    captions: Optional[list] = None  # detect: the caption drawn with each box


def scores_of(outputs: np.ndarray, kind: str) -> np.ndarray:
    """One image's class scores as probabilities: softmax of logits, sigmoid, or as they are."""
    values = np.asarray(outputs, np.float64).reshape(-1)
    if kind == "logits":
        values = np.exp(values - values.max())
        return values / values.sum()
    if kind == "sigmoid":
        return 1.0 / (1.0 + np.exp(-values))
    return values


def plan(task: str, outputs: np.ndarray, card, classes: Optional[tuple], top: Optional[int],
         name: Callable[[int], str], geometry) -> Plan:
    """outputs: the unmasked outputs of one image, (1, ...) in the model's shape."""
    if task == "segment":
        return _segment(outputs[0], card, classes, top, name)
    if task == "detect":
        return _detect(outputs[0], card, classes, top, name, geometry)
    return _classify(outputs[0], card, classes, top, name)


def _classify(outputs, card, classes, top, name) -> Plan:
    probabilities = scores_of(outputs, card.outputs)
    shown = min(max(TOP_PREDICTIONS, top or 1), probabilities.size)
    ranked = [int(c) for c in top_classes(probabilities, shown)]
    predictions = [{"class": c, "label": name(c), "probability": float(probabilities[c])} for c in ranked]
    if classes:
        chosen = list(classes)
    elif card.outputs == "sigmoid" and top is None:
        above = np.flatnonzero(probabilities >= card.threshold)
        chosen = [int(c) for c in above[np.argsort(-probabilities[above], kind="stable")]]
        predictions = [{"class": c, "label": name(c), "probability": float(probabilities[c])}
                       for c in dict.fromkeys(ranked + chosen)]
    else:
        chosen = ranked[:top or 1]
    return Plan(targets=chosen, classes=chosen, predictions=predictions)


def _segment(outputs, card, classes, top, name) -> Plan:
    predicted = np.argmax(outputs, axis=0)
    areas = np.bincount(predicted.reshape(-1), minlength=outputs.shape[0]) / predicted.size
    present = [int(c) for c in np.argsort(-areas, kind="stable") if areas[c] >= card.min_area and areas[c] > 0]
    chosen = list(classes) if classes else present[:top] if top else present
    targets = [SemanticSegmentationTarget(c, predicted == c) for c in chosen]
    predictions = [{"class": c, "label": name(c), "area": round(float(areas[c]), 6)} for c in present]
    return Plan(targets=targets, classes=chosen, predictions=predictions,
                details={"areas": [round(float(areas[c]), 6) for c in chosen]})


def _detect(rows, card, classes, top, name, geometry) -> Plan:
    rows = np.asarray(rows, np.float64).reshape(-1, 6)
    kept = rows[(rows[:, 4] >= card.score_threshold) & (rows[:, 5] >= 0)]
    kept = kept[np.argsort(-kept[:, 4], kind="stable")]
    if classes:
        kept = kept[np.isin(kept[:, 5].astype(np.int64), classes)]
    if top:
        kept = kept[:top]
    labels = [int(v) for v in kept[:, 5]]
    boxes = geometry.to_original(kept[:, :4]) if len(kept) else np.zeros((0, 4))
    boxes = [[round(float(v), 2) for v in box] for box in boxes]
    scores = [round(float(v), 6) for v in kept[:, 4]]
    targets = [DetectionBoxScoreTarget([label], row[None, :4]) for label, row in zip(labels, kept)]
    predictions = [{"class": c, "label": name(c), "score": s, "box": b} for c, s, b in zip(labels, scores, boxes)]
    return Plan(targets=targets, classes=labels, predictions=predictions,
                details={"boxes": boxes, "scores": scores},
                captions=[f"{name(c)} {s:.2f}" for c, s in zip(labels, scores)])
