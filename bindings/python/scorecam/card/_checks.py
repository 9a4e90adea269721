"""The checks a dataset run makes on a card's model before any image: each failure one line
(UsageError, the CLI's exit status 2), so a wrong card never produces a folder of wrong maps."""
from __future__ import annotations

import dataclasses
import warnings
from typing import Optional

import numpy as np

from ..errors import UsageError
from ._model import CardModel


@dataclasses.dataclass(frozen=True)
class ModelShape:
    """What the probe forward found: the output's shape per image and the activations' (K, h, w)."""

    outputs: tuple
    activations: tuple

    @property
    def output_dim(self) -> int:
        return int(np.prod(self.outputs))

    @property
    def classes(self) -> Optional[int]:
        """Classes scored per image: D (classify), C of (C, H, W) (segment), None (detect)."""
        return self.outputs[0] if len(self.outputs) == 3 else self.output_dim


def check_model(model: CardModel) -> ModelShape:
    """Runs the model once on a gray picture of the card's input size and checks what it gives."""
    card = model.card
    height, width = card.input.size
    probe = np.full((1, 3, height, width), 0.5, np.float32)
    try:
        outputs, activations = model.run(probe)
    except ValueError as error:  # TorchModel: the layer is not 4-D after reshape, an output not found
        raise UsageError(str(error)) from None
    except Exception as error:  # noqa: BLE001 - the runtime's words for a wrong input size
        layout = f"1x{height}x{width}x3" if card.input.layout == "NHWC" else f"1x3x{height}x{width}"
        raise UsageError(f"the model does not run on its card's input size ({layout}): "
                         f"{type(error).__name__}: {error}".splitlines()[0]) from None
    outputs = np.asarray(outputs)
    if activations.ndim != 4:
        raise UsageError(f"the layer {card.layer!r} gives activations of shape {tuple(activations.shape)}, not "
                         "(N, K, h, w): choose a 4-D layer or set the card's reshape")
    shape = ModelShape(tuple(outputs.shape[1:]), tuple(activations.shape[1:]))
    if card.task == "detect":
        if outputs.ndim != 3 or outputs.shape[2] != 6:
            raise UsageError(f"a detect card needs a forward returning (N, M, 6) rows (x1, y1, x2, y2, score, label), "
                             f"got shape {tuple(outputs.shape)}: for a torchvision detector set "
                             "output: \"torchvision_detections\"")
        return shape
    if card.task == "segment":
        if outputs.ndim != 4:
            raise UsageError(f"a segment card needs outputs (N, C, H, W) (one score map per class), got shape "
                             f"{tuple(outputs.shape)}: for torchvision segmentation models set output: \"out\"")
    labels = model.labels
    if labels is not None and len(labels) != shape.classes:
        raise UsageError(f"the labels list {len(labels)} names but the model scores {shape.classes} classes")
    if card.outputs == "probabilities" and card.task == "classify":
        total = float(outputs.reshape(len(outputs), -1)[0].sum())
        if abs(total - 1) > 1e-3:
            warnings.warn(f"the card says outputs are probabilities, but they sum to {total:.4g} on a gray picture "
                          "(logits? set outputs: \"logits\")", stacklevel=2)
    return shape
