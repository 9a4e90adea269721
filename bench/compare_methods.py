#!/usr/bin/env python3
"""Methods and channel budgets side by side on the real model: fidelity to full Score-CAM,
faithfulness metrics, forward passes and time. Writes docs/METHODS.md.

    .venv/bin/python bench/compare_methods.py [--out docs/METHODS.md]

EfficientNet-Lite0 (ONNX Runtime), layer head_relu6 (1280 channels), the seed's sample image and
scikit-image's chelsea and coffee, each explained for its predicted class. Metrics: Average Drop
and Increase in Confidence (lower / higher is better), Insertion and Deletion AUC of the class
probability, 20 steps, zero baseline (higher / lower is better). Fidelity: Pearson correlation and
max |difference| of the min-max normalized map against full (vanilla) Score-CAM.
"""
import argparse
import pathlib
import platform
import subprocess
import time

import numpy as np

import scorecam
from scorecam.models import efficientnet_lite0

REPO = pathlib.Path(__file__).resolve().parents[1]

# name, explainer keywords
METHODS = [
    ("Score-CAM (all 1280)", dict()),
    ("CSKIP K'=8", dict(cskip=8)),
    ("CSKIP K'=16", dict(cskip=16)),
    ("CSKIP K'=32", dict(cskip=32)),
    ("CSKIP K'=64", dict(cskip=64)),
    ("Faster-Score-CAM (std) N=16", dict(selection="std", selection_count=16)),
    ("adaptive tol 0.05", dict(adaptive_tolerance=0.05, adaptive_step=8)),
    ("adaptive tol 0.02", dict(adaptive_tolerance=0.02, adaptive_step=8)),
    ("adaptive tol 0.01", dict(adaptive_tolerance=0.01, adaptive_step=8)),
    ("SS-CAM (35 samples) on CSKIP 16", dict(preset="torchcam", method="sscam", cskip=16, map_at_activation_size=0)),
    ("IS-CAM (10 samples) on CSKIP 16", dict(preset="torchcam", method="iscam", cskip=16, map_at_activation_size=0)),
]
METRICS = ["average_drop", "increase_in_confidence", "insertion", "deletion"]


def images():
    import skimage

    data = pathlib.Path(skimage.__file__).parent / "data"
    return [("sample_image_01", REPO / "bindings" / "python" / "scorecam" / "models" / "data" / "sample_image_01.jpg"),
            ("chelsea", data / "chelsea.png"), ("coffee", data / "coffee.png")]


def cpu_model() -> str:
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def normalized(heatmap):
    span = heatmap.max() - heatmap.min()
    return (heatmap - heatmap.min()) / (span if span > 0 else 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=REPO / "docs" / "METHODS.md")
    args = parser.parse_args()

    bundle = efficientnet_lite0()
    model = bundle.onnx()
    forwards = {"n": 0}

    def forward(batch):
        forwards["n"] += len(batch)
        return model.forward(batch)

    rows = []
    for image_name, path in images():
        x = bundle.preprocess(path)
        logits, activations = model.run(x)
        target = int(logits.argmax())
        reference = None
        for name, options in METHODS:
            options = dict(options)
            preset = options.pop("preset", "seed")
            with scorecam.Explainer(forward, preset=preset, output_dim=1000, **options) as explainer:
                forwards["n"] = 0
                start = time.perf_counter()
                heatmap = explainer.explain(x[0], activations[0], target)
                elapsed = time.perf_counter() - start
                used = forwards["n"]
                if reference is None:
                    reference = normalized(heatmap)
                ours = normalized(heatmap)
                pearson = float(np.corrcoef(ours.ravel(), reference.ravel())[0, 1])
                max_diff = float(np.abs(ours - reference).max())
                values = {m: float(explainer.evaluate(x[0], heatmap, target, m)) for m in METRICS}
            rows.append((image_name, target, bundle.labels[target], name, used, elapsed, pearson, max_diff, values))
            print(f"{image_name:16s} {name:34s} forwards {used:6d} {elapsed:7.2f} s  r={pearson:.4f} "
                  + " ".join(f"{m}={v:.4f}" for m, v in values.items()), flush=True)

    lines = [
        "# Methods and channel budgets on the real model",
        "",
        "Produced by `.venv/bin/python bench/compare_methods.py` (writes this file). EfficientNet-Lite0",
        "through ONNX Runtime, layer `head_relu6` (1280 channels), each image explained for its predicted",
        "class. Fidelity is against full Score-CAM (the first row of each image), on min-max normalized",
        "maps. Metrics: Average Drop (AD, %, lower is better), Increase in Confidence (IC, 1 = the",
        "masked image scores higher), Insertion AUC (higher is better), Deletion AUC (lower is better),",
        "all on the class probability, 20 steps, zero baseline (definitions in `include/scorecam.h`).",
        "Forwards count masked passes only (the unmasked pass giving the activations is the host's).",
        "SS-CAM and IS-CAM run on the 16 CSKIP channels (all 1280 would take 44,800 / 12,800 passes).",
        "",
        f"Machine: {cpu_model()}, {subprocess.getoutput('nproc')} cores, load average "
        f"{' '.join(pathlib.Path('/proc/loadavg').read_text().split()[:3])} when written (times are wall-clock and "
        f"noisy; forwards, fidelity and metrics are deterministic); libscorecam {scorecam.library_version()}.",
        "",
    ]
    for image_name in dict.fromkeys(r[0] for r in rows):
        subset = [r for r in rows if r[0] == image_name]
        lines += [f"## {image_name}: class {subset[0][1]} ({subset[0][2]})", "",
                  "| method | forwards | time s | Pearson r | max abs diff | AD % | IC | insertion | deletion |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for _, _, _, name, used, elapsed, pearson, max_diff, v in subset:
            lines.append(f"| {name} | {used} | {elapsed:.2f} | {pearson:.4f} | {max_diff:.3f} | "
                         f"{100 * v['average_drop']:.2f} | {v['increase_in_confidence']:.0f} | "
                         f"{v['insertion']:.4f} | {v['deletion']:.4f} |")
        lines.append("")
    args.out.write_text("\n".join(lines))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
