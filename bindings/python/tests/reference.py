"""Independent reference implementations of the Score-CAM formulas, written directly from their
definitions with torch (DESIGN.md §2-3). Tests compare the engine against these; the Swift
fixture generator uses them too."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def upsample(activations: torch.Tensor, size, mode: str = "bicubic") -> torch.Tensor:
    """(1, K, h, w) -> (1, K, H, W) with the engine's named modes."""
    if mode == "bilinear_align_corners":
        return F.interpolate(activations, size, mode="bilinear", align_corners=True)
    return F.interpolate(activations, size, mode=mode, align_corners=False)


def score_cam(x: torch.Tensor, activations: torch.Tensor, model, score, *, cskip: int | None = None,
              selection: str = "max", eps: float = 1e-10, mode: str = "bicubic", weighting: str = "softmax",
              subtract_base: bool = True, baseline: float = 0.0, batch_size: int = 64, channels=None):
    """Score-CAM of one image.

    x (1, C, H, W); activations (1, K, h, w); model: batch -> outputs; score: outputs -> (N,)
    scores, or (N, T) for T maps at once. channels: the channel indices to use (overrides cskip).
    The seed's choices are the defaults: masks (U - min U) / (max U - min U + eps) of the bicubic
    upsampled channels, softmax over channels of score - unmasked score,
    map = ReLU(sum_k w_k U_k). Returns (map (H, W), kept channel indices, weights).
    """
    _, _, h, w = x.shape
    if channels is not None:
        channels = torch.as_tensor(channels)
    elif cskip is None:
        channels = torch.arange(activations.shape[1])
    else:
        flat = activations.flatten(2)[0]
        criterion = flat.amax(1) if selection == "max" else flat.std(1, unbiased=False)
        channels = torch.argsort(criterion, descending=True, stable=True)[:cskip]
    up = upsample(activations[:, channels], (h, w), mode)[0]  # (K', H, W)
    lo = up.flatten(1).amin(1).reshape(-1, 1, 1)
    hi = up.flatten(1).amax(1).reshape(-1, 1, 1)
    masks = (up - lo) / (hi - lo + eps)
    masked = baseline + (x - baseline) * masks[:, None]  # (K', C, H, W)
    with torch.no_grad():
        scores = torch.cat([score(model(masked[i:i + batch_size])) for i in range(0, len(masked), batch_size)])
        base = score(model(x))
    shifted = scores - base if subtract_base else scores
    weights = torch.softmax(shifted, dim=0) if weighting == "softmax" else shifted
    if weights.ndim == 2:
        return torch.relu(torch.einsum("kt,khw->thw", weights, up)), channels, weights
    return torch.relu((weights[:, None, None] * up).sum(0)), channels, weights
