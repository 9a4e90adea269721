#!/usr/bin/env python3
"""Writes the reference fixtures the Swift tests compare against, computed with PyTorch itself.

    python Tests/ScoreCAMCoreTests/Fixtures/generate_fixtures.py   # needs torch

resize.json  F.interpolate outputs for every upsampling mode the engine claims to reproduce.
seed.json    Score-CAM maps computed the way tiskw/scorecam-pytorch computes them (see
             bindings/python/tests/reference.py), on a fixed linear model, vanilla and with CSKIP.
The output is deterministic (fixed seeds, CPU, float32).
"""
import json
import pathlib

import sys

import torch
import torch.nn.functional as F

HERE = pathlib.Path(__file__).resolve().parent
# The one reference implementation of the formulas, shared with the Python tests.
sys.path.insert(0, str(HERE.parents[2] / "bindings" / "python" / "tests"))
from reference import score_cam  # noqa: E402
torch.manual_seed(0)


def floats(tensor):
    return [float(v) for v in tensor.detach().reshape(-1).tolist()]


def resize_cases():
    modes = [("bicubic", dict(mode="bicubic", align_corners=False)),
             ("bilinear", dict(mode="bilinear", align_corners=False)),
             ("bilinear_align_corners", dict(mode="bilinear", align_corners=True))]
    sizes = [((4, 5), (9, 12)), ((7, 7), (40, 40)), ((9, 9), (4, 4)), ((1, 6), (5, 11)), ((3, 2), (3, 2))]
    cases = []
    for name, kwargs in modes:
        for (ih, iw), (oh, ow) in sizes:
            x = torch.randn(1, 1, ih, iw)
            y = F.interpolate(x, size=(oh, ow), **kwargs)
            cases.append(dict(mode=name, in_h=ih, in_w=iw, out_h=oh, out_w=ow,
                              input=floats(x), output=floats(y)))
    return cases


def seed_map(x, activations, model, target, cskip=None):
    """The seed's Score-CAM of one image x (1,C,H,W) for one class index."""
    result, _, _ = score_cam(x, activations.unsqueeze(0), model, lambda out: out[:, target], cskip=cskip)
    return result


def seed_case():
    c, h, w, k, ah, aw, d = 3, 16, 16, 10, 4, 4, 5
    x = torch.rand(1, c, h, w)
    activations = torch.relu(torch.randn(k, ah, aw))
    weight = torch.randn(d, c * h * w) * 0.05
    bias = torch.randn(d)

    def model(batch):
        return batch.reshape(batch.shape[0], -1) @ weight.T + bias

    targets = [1, 3]
    return dict(
        c=c, h=h, w=w, k=k, ah=ah, aw=aw, d=d, targets=targets,
        input=floats(x), activations=floats(activations), weight=floats(weight), bias=floats(bias),
        maps=[floats(seed_map(x, activations, model, t)) for t in targets],
        cskip=4,
        cskip_maps=[floats(seed_map(x, activations, model, t, cskip=4)) for t in targets],
    )


if __name__ == "__main__":
    (HERE / "resize.json").write_text(json.dumps(dict(torch=torch.__version__, cases=resize_cases())))
    (HERE / "seed.json").write_text(json.dumps(dict(torch=torch.__version__, **seed_case())))
    print("wrote", HERE / "resize.json", HERE / "seed.json")
