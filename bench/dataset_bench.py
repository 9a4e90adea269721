"""Dataset runs: images per second of `explain_dataset` with the local pool and with Ray (local),
for 1 and 2 workers, at CSKIP 16 and with all channels; Ray's overhead against the pool at equal
workers; peak resident memory per worker. Default model (EfficientNet-Lite0), 640x480 images.

    python bench/dataset_bench.py [--images 16] [--all-images 4] [--no-ray] [--components-only] [--json OUT.json]

Two figures per run: `wall` counts everything a user waits for (worker start, model loads, Ray
actors; not ray.init, timed apart), `steady` is the rate between the first and the last result.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import sys
import tempfile
import time

import numpy as np


def make_images(folder: pathlib.Path, count: int) -> None:
    from PIL import Image
    from skimage import data

    repo = pathlib.Path(__file__).resolve().parents[1]
    sources = [np.asarray(Image.open(repo / "bindings/python/scorecam/models/data/sample_image_01.jpg").convert("RGB")),
               data.chelsea(), data.coffee(), data.astronaut()]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        picture = sources[i % len(sources)][(i // 4) * 7:, (i // 4) * 5:]
        Image.fromarray(np.ascontiguousarray(picture)).resize((640, 480)).save(folder / f"img_{i:03d}.jpg", quality=92)


def peak_rss_mib(pid: int) -> float | None:
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run(images: pathlib.Path, out: pathlib.Path, cskip, workers: int, ray_address) -> dict:
    from scorecam.dataset import explain_dataset

    stamps, peaks = [], {}

    def on_row(row):
        stamps.append(time.perf_counter())
        pid = row["worker"]["pid"]
        peak = peak_rss_mib(pid)
        if peak is not None:
            peaks[pid] = max(peaks.get(pid, 0.0), peak)

    start = time.perf_counter()
    summary = explain_dataset([images], out, cskip=cskip, workers=workers, ray_address=ray_address,
                              progress=False, on_row=on_row)
    wall = time.perf_counter() - start
    assert summary.failed == 0 and summary.ok == len(stamps)
    steady = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 and stamps[-1] > stamps[0] else None
    return {"images": summary.ok, "wall_s": round(wall, 2), "images_per_s": round(summary.ok / wall, 3),
            "steady_images_per_s": None if steady is None else round(steady, 3),
            "peak_rss_mib_per_worker": round(max(peaks.values()), 0) if peaks else None,
            "backend": summary.backend}


def components(folder: pathlib.Path, repeats: int) -> dict:
    """The cost model's terms for one 640x480 image, each the minimum over `repeats` (the least
    disturbed by other load): fixed per-image work, and one forward pass, with 1 and 2 threads."""
    from scorecam.card import ModelCard, prepare
    from scorecam.dataset import _images
    from scorecam.dataset._work import Config, Worker, explain_image

    path = sorted(folder.iterdir())[0]
    result = {}
    for threads in (1, 2):
        worker = Worker(Config(out_dir=str(folder.parent / f"components{threads}"), cskip=16, threads=threads))
        spec = ModelCard.default().input
        x = prepare(_images.read_image(path), spec)[0]
        batch = np.repeat(x, 16, axis=0)

        def best(call):
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                call()
                times.append(time.perf_counter() - t)
            return min(times)

        image = _images.read_image(path)
        heatmap = np.random.default_rng(0).random((224, 224)).astype(np.float32)
        out = folder.parent / "component.png"
        result[f"threads={threads}"] = {
            "read_and_preprocess_s": round(best(lambda: prepare(_images.read_image(path), spec)), 4),
            "overlay_and_png_s": round(best(lambda: _images.write_png(out, _images.overlay_at_size(image, heatmap))), 4),
            "forward_pass_s_batch16": round(best(lambda: worker.model.forward(batch)) / 16, 5),
            "whole_image_cskip16_s": round(best(lambda: explain_image(worker, "c", str(path))), 4),
        }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=16, help="images for the CSKIP 16 runs")
    parser.add_argument("--all-images", type=int, default=4, help="images for the all-channels runs")
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--json", type=pathlib.Path)
    parser.add_argument("--components-only", action="store_true", help="only the per-image cost terms")
    parser.add_argument("--repeats", type=int, default=15, help="repeats of each cost term (minimum kept)")
    args = parser.parse_args()

    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "load_average_at_start": os.getloadavg()}, "runs": []}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        make_images(scratch / "in16", args.images)
        make_images(scratch / "in_all", args.all_images)
        results["components"] = components(scratch / "in16", args.repeats)
        print(json.dumps(results["components"]), flush=True)
        if args.components_only:
            args.images = 0
        backends = [("pool", None)]
        if not args.no_ray and not args.components_only:
            import ray

            t = time.perf_counter()
            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, configure_logging=False)
            results["ray_init_s"] = round(time.perf_counter() - t, 2)
            backends.append(("ray", "local"))
        n = 0
        cases = (("CSKIP 16", 16, "in16"), ("all channels", None, "in_all")) if not args.components_only else ()
        for label, cskip, folder in cases:
            for workers in (1, 2):
                for backend, address in backends:
                    n += 1
                    entry = {"case": label, "workers": workers, "backend_asked": backend,
                             **run(scratch / folder, scratch / f"out{n}", cskip, workers, address)}
                    results["runs"].append(entry)
                    print(json.dumps(entry), flush=True)
        if not args.no_ray and not args.components_only:
            ray.shutdown()
    # Ray's overhead: its wall time against the pool's at equal workers and case.
    overhead = []
    for entry in results["runs"]:
        if entry["backend_asked"] == "ray":
            pool = next(e for e in results["runs"] if e["backend_asked"] == "pool"
                        and e["case"] == entry["case"] and e["workers"] == entry["workers"])
            overhead.append({"case": entry["case"], "workers": entry["workers"],
                             "ray_wall_over_pool": round(entry["wall_s"] / pool["wall_s"], 3),
                             "ray_steady_over_pool": None if not (entry["steady_images_per_s"] and pool["steady_images_per_s"])
                             else round(pool["steady_images_per_s"] / entry["steady_images_per_s"], 3)})
    results["ray_overhead"] = overhead
    results["machine"]["load_average_at_end"] = os.getloadavg()
    for row in overhead:
        print(json.dumps(row))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
