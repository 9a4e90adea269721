"""Command line: python -m scorecam explain IMAGE... -o OUT

Explains each image for its top classes (or the ones given) and writes one overlay PNG per image
and class. Without --model it uses the default model (EfficientNet-Lite0, ImageNet-1k).
"""
from __future__ import annotations

import argparse
import pathlib
import re
import sys
import time

import numpy as np


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scorecam", description="Score-CAM explanations")
    commands = parser.add_subparsers(dest="command", required=True)
    explain = commands.add_parser("explain", help="write Score-CAM overlays of images")
    explain.add_argument("images", nargs="+", type=pathlib.Path, help="image files")
    explain.add_argument("--model", type=pathlib.Path, help="an ONNX classifier (default: EfficientNet-Lite0)")
    explain.add_argument("--layer", help="the tensor to explain in --model (required with --model)")
    explain.add_argument("--size", type=int, default=224, help="input size of --model (default 224)")
    which = explain.add_mutually_exclusive_group()
    which.add_argument("--class", dest="classes", type=int, nargs="+", metavar="N", help="class indices to explain")
    which.add_argument("--top", type=int, default=3, metavar="K", help="explain the K top classes (default 3)")
    explain.add_argument("--cskip", type=int, metavar="K'", help="CSKIP: keep the K' channels of largest max")
    explain.add_argument("--preset", default="seed", choices=["seed", "gradcam", "torchcam", "paper"],
                         help="which library's maps to reproduce (default seed)")
    explain.add_argument("--method", default="scorecam", choices=["scorecam", "sscam", "iscam"],
                         help="Score-CAM, SS-CAM or IS-CAM (default scorecam)")
    explain.add_argument("--adaptive", type=float, metavar="TOL",
                         help="adaptive channel budget: stop when the map moves by at most TOL")
    explain.add_argument("--metrics", action="store_true",
                         help="also print Average Drop, Increase in Confidence, Insertion and Deletion AUC")
    explain.add_argument("--batch-size", type=int, default=128, help="masked images per forward call")
    explain.add_argument("-o", "--output", type=pathlib.Path, required=True, help="output directory")
    _add_layers_parser(commands)
    return parser


def _add_layers_parser(commands) -> None:
    layers = commands.add_parser("layers", help="list the tensors of an ONNX model one can explain")
    layers.add_argument("model", type=pathlib.Path, help="an .onnx file")
    layers.add_argument("--all", action="store_true", help="every tensor, not only the 4-D ones")


def layers_command(args) -> int:
    """One line per tensor, in graph order: name, producing op, inferred shape."""
    from .onnx import OnnxModel

    if not args.model.is_file():
        print(f"error: {args.model}: no such file", file=sys.stderr)
        return 2
    found = OnnxModel.layers(args.model, four_d=not args.all)
    width = max((len(layer.name) for layer in found), default=4)
    print(f"{'name':{width}s}  {'op':18s}  shape")
    for layer in found:
        shape = "?" if layer.shape is None else "x".join("?" if d is None else str(d) for d in layer.shape)
        print(f"{layer.name:{width}s}  {layer.op:18s}  {shape}")
    if not found:
        print("no 4-D tensors found (try --all)", file=sys.stderr)
    return 0


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


def _display_size(heatmap: np.ndarray, size) -> np.ndarray:
    """Maps at activation size (torchcam preset) are stretched to the picture for display only."""
    if heatmap.shape == tuple(size):
        return heatmap
    from PIL import Image

    bilinear = getattr(Image, "Resampling", Image).BILINEAR
    return np.asarray(Image.fromarray(heatmap).resize((size[1], size[0]), bilinear))


def explain_command(args) -> int:
    from . import _lite0
    from .explainer import Explainer
    from .imaging import overlay, save_png

    if args.model is not None:
        if not args.layer:
            print("error: --model needs --layer (the tensor to explain)", file=sys.stderr)
            return 2
        from .onnx import OnnxModel

        model, labels, size = OnnxModel(args.model, args.layer), None, args.size
    else:
        from .models import efficientnet_lite0

        bundle = efficientnet_lite0()
        model, labels, size = bundle.onnx(), bundle.labels, _lite0.SIZE
    name = (lambda c: labels[c] if labels and c < len(labels) else f"class {c}")

    args.output.mkdir(parents=True, exist_ok=True)
    options = dict(method=args.method)
    if args.adaptive:
        options.update(adaptive_tolerance=args.adaptive)
    passes = {"n": 0}

    def forward(batch):
        passes["n"] += len(batch)
        return model.forward(batch)

    for path in args.images:
        rgb = _lite0.load_rgb(path, size)
        x = _lite0.normalize(rgb)
        start = time.perf_counter()
        logits, activations = model.run(x)
        logits = logits.reshape(len(logits), -1)
        probabilities = np.exp(logits[0] - logits[0].max())
        probabilities /= probabilities.sum()
        ranked = [int(c) for c in np.argsort(-probabilities)]
        classes = args.classes or ranked[:args.top]
        print(f"{path}: predicted " + ", ".join(f"{c} {name(c)} ({probabilities[c]:.3f})" for c in ranked[:3]))
        with Explainer(forward, preset=args.preset, batch_size=args.batch_size, cskip=args.cskip,
                       output_dim=logits.shape[1], **options) as explainer:
            passes["n"] = 0
            maps = explainer.explain(x[0], activations[0], classes)
            elapsed = time.perf_counter() - start
            print(f"  explained {len(classes)} classes with {passes['n'] + 1} forward passes "
                  f"({passes['n']} masked + 1 unmasked) in {elapsed:.2f} s")
            if args.metrics:
                for metric in ("average_drop", "increase_in_confidence", "insertion", "deletion"):
                    values = explainer.evaluate(x[0], maps, classes, metric)
                    print(f"  {metric:23s} " + "  ".join(f"{c}: {v:.4f}" for c, v in zip(classes, values)))
        for c, heatmap in zip(classes, maps):
            out = args.output / f"{path.stem}_{c}_{_slug(name(c))}.png"
            save_png(out, overlay(rgb, _display_size(heatmap, rgb.shape[:2])))
            print(f"  {out}")
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "explain":
        return explain_command(args)
    if args.command == "layers":
        return layers_command(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
