"""The torch forward on CPU: memory layout, grad mode and the allocator, and the seed API against
the seed's own code on both input layouts (issue 13, point 0). Figures: docs/BENCHMARKS.md,
"Performance work (issue 13)".

    python bench/torch_layout.py forward [--repeats 5]          # one 64-image forward, each way
    python bench/torch_layout.py seed [--rounds 2] [--cskip K]  # needs $SCORECAM_SEED_CODE

`forward` runs itself twice, in child processes with THP_MEM_ALLOC_ENABLE=0 and =1 (torch reads
it once, at import). `seed` alternates the systems round by round in one process; --cskip K uses
the seed's CSKIP with K channels (same code path, K/1280 of the work) instead of all 1280.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from workloads import LAYER, TARGET, THREADS, Workload, _status_kb, reset_peak  # noqa: E402


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def other_cpu_cores(seconds: float, busy_before: float, own_before: float) -> float:
    """The CPU the rest of the machine used meanwhile, in cores (0 = quiet)."""
    return max(0.0, (busy() - busy_before) - (own_cpu() - own_before)) / seconds


def busy() -> float:
    fields = [float(v) for v in open("/proc/stat").readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def forward_part(repeats: int) -> dict:
    import torch

    w = Workload(need_torch=True)
    model = w.torch_model
    rng = np.random.default_rng(0)
    batch = torch.from_numpy(np.ascontiguousarray(w.x * rng.random((64, 1, 224, 224), dtype=np.float32)))
    modes = {"no_grad": torch.no_grad, "inference_mode": torch.inference_mode}
    rows = []
    for layout in ("nchw", "channels_last"):
        for mode_name, mode in modes.items():
            images = batch if layout == "nchw" else batch.contiguous(memory_format=torch.channels_last)
            times, faults = [], []
            with mode():
                model(images)  # warm-up
                reset_peak()
                rss_before = _status_kb("VmRSS")
                for _ in range(repeats):
                    f0, t0 = minor_faults(), time.perf_counter()
                    out = model(images)
                    times.append(time.perf_counter() - t0)
                    faults.append(minor_faults() - f0)
            rows.append({"layout": layout, "mode": mode_name, "median_s": statistics.median(times),
                         "min_s": min(times), "faults": statistics.median(faults),
                         "extra_peak_mb": (_status_kb("VmHWM") - rss_before) / 1024, "rss_mb": rss_before / 1024,
                         "checksum": float(out.double().sum())})
    return {"thp": os.environ.get("THP_MEM_ALLOC_ENABLE", "unset"), "rows": rows}


def seed_part(rounds: int, cskip: int | None) -> list[dict]:
    import torch
    from scorecam import ScoreCAM

    path = os.environ.get("SCORECAM_SEED_CODE")
    if not path or not os.path.isfile(path):
        sys.exit("SCORECAM_SEED_CODE must point at the seed's scorecam.py")
    spec = importlib.util.spec_from_file_location("seed_scorecam", path)
    seed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(seed)

    w = Workload(need_torch=True)
    inputs = {"HWC": np.ascontiguousarray(w.x[0].transpose(1, 2, 0)), "1CHW": torch.from_numpy(w.x)}
    systems = {
        "seed's code": seed.ScoreCAM(w.torch_model, LAYER),
        "ours (seed API), auto layout": ScoreCAM(w.torch_model, LAYER),
        "ours (seed API), channels_last=False": ScoreCAM(w.torch_model, LAYER, channels_last=False),
        "ours (seed API), backend='onnxruntime'": ScoreCAM(w.torch_model, LAYER, backend="onnxruntime"),
    }
    kwargs = dict(batch_size=64, cskip=cskip is not None, cskip_out=cskip or 16)
    for cam in systems.values():  # warm-up: one small run each
        cam.compute(inputs["1CHW"], TARGET, batch_size=64, cskip=True, cskip_out=16)
    results = {(s, i): [] for s in systems for i in inputs}
    maps = {}
    for r in range(rounds):
        order = [(s, i) for i in inputs for s in systems]
        for system, name in (order if r % 2 == 0 else order[::-1]):
            b0, o0, f0, t0 = busy(), own_cpu(), minor_faults(), time.perf_counter()
            maps[(system, name)] = np.asarray(systems[system].compute(inputs[name], TARGET, **kwargs))
            elapsed = time.perf_counter() - t0
            results[(system, name)].append({"s": elapsed, "faults": minor_faults() - f0,
                                            "others": other_cpu_cores(elapsed, b0, o0)})
    rows = []
    reference = maps[("seed's code", "1CHW")]
    for (system, name), runs in results.items():
        rows.append({"system": system, "input": name, "median_s": statistics.median(x["s"] for x in runs),
                     "runs_s": [round(x["s"], 3) for x in runs],
                     "faults": statistics.median(x["faults"] for x in runs),
                     "others_cores": max(x["others"] for x in runs),
                     "max_diff_vs_seed": float(np.abs(maps[(system, name)] - reference).max() / np.abs(reference).max())})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=["forward", "seed", "forward-child"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cskip", type=int, default=None)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(THREADS)
    print(f"torch {torch.__version__}, {THREADS} threads, load average {os.getloadavg()}", flush=True)
    if args.part == "forward-child":
        print(json.dumps(forward_part(args.repeats)))
        return
    if args.part == "forward":
        print(f"one forward of 64 masked images, EfficientNet-Lite0 (onnx2torch), median of {args.repeats}")
        print(f"{'THP_MEM_ALLOC_ENABLE':>20}  {'layout':>13}  {'mode':>14}  {'median s':>8}  {'min s':>7}  {'faults':>9}"
              f"  {'RSS MB':>7}  {'+peak MB':>8}")
        for thp in ("0", "1"):
            b0, t0 = busy(), time.perf_counter()
            child = subprocess.run([sys.executable, __file__, "forward-child", "--repeats", str(args.repeats)],
                                   env={**os.environ, "THP_MEM_ALLOC_ENABLE": thp}, capture_output=True, text=True,
                                   check=True)
            wall = time.perf_counter() - t0
            result = json.loads(child.stdout.strip().splitlines()[-1])
            for row in result["rows"]:
                print(f"{thp:>20}  {row['layout']:>13}  {row['mode']:>14}  {row['median_s']:8.3f}  "
                      f"{row['min_s']:7.3f}  {row['faults']:9.0f}  {row['rss_mb']:7.0f}  {row['extra_peak_mb']:8.0f}")
            print(f"  (machine busy {((busy() - b0) / wall):.2f} cores over the child's {wall:.0f} s, "
                  f"of which the child used up to {THREADS})")
        return
    what = f"CSKIP {args.cskip}" if args.cskip else "all 1280 channels"
    print(f"seed API vs the seed's code, EfficientNet-Lite0 torch, batch 64, {what}, {args.rounds} rounds alternating")
    print(f"{'system':<40} {'input':>5}  {'median s':>8}  {'runs s':<18} {'faults':>9}  {'others':>6}  {'map diff':>8}")
    for row in seed_part(args.rounds, args.cskip):
        print(f"{row['system']:<40} {row['input']:>5}  {row['median_s']:8.3f}  {str(row['runs_s']):<18} "
              f"{row['faults']:9.0f}  {row['others_cores']:6.2f}  {row['max_diff_vs_seed']:8.1e}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
