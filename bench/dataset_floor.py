"""The dataset job against its forward floor (issue 21): in one run, ONNX Runtime alone on the same
number of forward passes at its best batch size, and `python -m scorecam explain` over scikit-image's
photos with 1 and 2 workers, CSKIP 16 and all channels, with and without --metrics. Default model
(EfficientNet-Lite0).

    .venv/bin/python bench/dataset_floor.py [--images 60] [--all-images 6] [--json OUT.json]

The runner's rate excludes start-up: it is the difference between a run over N images and one over
its first few, (N - n) / (t_N - t_n), and the floor is timed on exactly the passes those N - n
images needed (counted from the manifests), right after them. The floor is the fastest of one
session with every core's thread and one single-threaded session per core, each at the best of
16, 32, 64 and 128 images per batch (a short trial of each). Start-up is reported apart (the small
run's time less its images' share). Each case runs --rounds times (default 3): the median of the
rounds' ratios, and the ratio of the best rates. Run it on a quiet machine.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

BATCH_SIZES = (16, 32, 64, 128)


def photos(folder: pathlib.Path, count: int) -> list[pathlib.Path]:
    """`count` photos from scikit-image's data folder (64x64 to 1,000x1,000 and more), written as
    JPEG; when there are fewer photos than `count`, mirrored and cropped variants follow."""
    from PIL import Image
    import skimage

    source = pathlib.Path(skimage.__file__).parent / "data"
    pictures = []
    for path in sorted(source.iterdir()):
        if path.suffix.lower() not in (".png", ".jpg"):
            continue
        with Image.open(path) as opened:
            picture = np.asarray(opened.convert("RGB"))
        if min(picture.shape[:2]) >= 32:
            pictures.append(picture)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        picture = pictures[i % len(pictures)]
        variant = i // len(pictures)
        if variant % 2:
            picture = picture[:, ::-1]
        if variant >= 2:
            picture = picture[variant * 4:, variant * 4:]
        path = folder / f"photo_{i:03d}.jpg"
        Image.fromarray(np.ascontiguousarray(picture)).save(path, quality=92)
        paths.append(path)
    return paths


def _floor_process(threads: int, batch: int, passes: int, queue, go) -> None:
    from scorecam.card import ModelCard, load_model

    model = load_model(ModelCard.default(), threads=threads)
    x = np.random.default_rng(0).standard_normal((batch, 3, 224, 224)).astype(np.float32)
    model.forward(x)  # warm-up: ONNX Runtime plans its memory at the first call
    queue.put("ready")
    go.wait()  # all processes start together
    start = time.perf_counter()
    done = 0
    while done < passes:
        n = min(batch, passes - done)
        model.forward(x[:n])
        done += n
    queue.put(time.perf_counter() - start)


def floor_seconds(passes: int, processes: int, threads: int, batch: int) -> float:
    """Seconds for `processes` ONNX Runtime sessions of `threads` threads each to run `passes`
    forward passes between them at batch size `batch` (the slowest process's time)."""
    context = multiprocessing.get_context("spawn")
    queue, go = context.Queue(), context.Event()
    share = [passes // processes + (i < passes % processes) for i in range(processes)]
    workers = [context.Process(target=_floor_process, args=(threads, batch, n, queue, go)) for n in share]
    for worker in workers:
        worker.start()
    for _ in workers:
        assert queue.get() == "ready"
    go.set()
    seconds = max(queue.get() for _ in workers)
    for worker in workers:
        worker.join()
    return seconds


def best_floor(passes: int, cores: int) -> dict:
    """The fastest way ONNX Runtime alone runs `passes` passes on `cores` cores: one session with
    all threads, or one single-threaded session per core, at the best of BATCH_SIZES (chosen on
    a short trial of each)."""
    trials = {}
    for processes, threads in {(1, cores), (cores, 1)}:
        for batch in BATCH_SIZES:
            trial = max(2 * batch * processes, 256)
            trials[(processes, threads, batch)] = floor_seconds(trial, processes, threads, batch) / trial
    processes, threads, batch = min(trials, key=trials.get)
    seconds = floor_seconds(passes, processes, threads, batch)
    return {"passes": passes, "seconds": round(seconds, 3), "ms_per_pass": round(1000 * seconds / passes, 3),
            "processes": processes, "threads": threads, "batch": batch,
            "trial_ms_per_pass": {f"{p}x{t} batch {b}": round(1000 * s, 3) for (p, t, b), s in sorted(trials.items())}}


def run_cli(images: list[pathlib.Path], out: pathlib.Path, args: list[str]) -> dict:
    listing = out.parent / f"{out.name}.list"
    listing.write_text("".join(f"{path}\n" for path in images))
    command = [sys.executable, "-m", "scorecam", "explain", "--list", str(listing), "-o", str(out),
               "--no-progress", "-q", "--no-report", *args]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(rows) == len(images) and all(row["status"] == "ok" for row in rows), "a run failed"
    passes = sum(row["forward_passes"] + row.get("metric_forward_passes", 0) for row in rows)
    return {"seconds": seconds, "passes": passes, "images": len(rows)}


def case(name: str, images: list[pathlib.Path], small: int, args: list[str], scratch: pathlib.Path, cores: int,
         rounds: int) -> dict:
    """`rounds` rounds, each the runner's pair of runs then the floor on the passes they differ by,
    back to back (a change in the machine's speed hits both); the ratio of each round, and the
    runner's and the floor's best rates."""
    measured = []
    for round_ in range(rounds):
        big = run_cli(images, scratch / f"{name}-big{round_}", args)
        little = run_cli(images[:small], scratch / f"{name}-small{round_}", args)
        passes, seconds = big["passes"] - little["passes"], big["seconds"] - little["seconds"]
        floor = best_floor(passes, cores)
        count = big["images"] - little["images"]
        runner_rate, floor_rate = count / seconds, count / floor["seconds"]
        measured.append({"runner_images_per_s": round(runner_rate, 3), "floor_images_per_s": round(floor_rate, 3),
                         "ratio": round(runner_rate / floor_rate, 3),
                         "startup_s": round(little["seconds"] - little["images"] / runner_rate, 2),
                         "whole_run_s": round(big["seconds"], 2), "passes_per_image": round(passes / count, 1),
                         "floor": floor})
    ratios = sorted(m["ratio"] for m in measured)
    best_runner = max(m["runner_images_per_s"] for m in measured)
    best_floor_rate = max(m["floor_images_per_s"] for m in measured)
    return {"case": name, "args": " ".join(args), "images": len(images), "small_run_images": small,
            "passes_per_image": measured[0]["passes_per_image"], "ratio_median": ratios[len(ratios) // 2],
            "ratio_of_bests": round(best_runner / best_floor_rate, 3), "runner_best_images_per_s": best_runner,
            "floor_best_images_per_s": best_floor_rate,
            "startup_s_median": sorted(m["startup_s"] for m in measured)[len(measured) // 2], "rounds": measured}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=60, help="photos for the CSKIP 16 runs")
    parser.add_argument("--all-images", type=int, default=6, help="photos for the all-channels runs")
    parser.add_argument("--small", type=int, default=4, help="photos of the small run (start-up)")
    parser.add_argument("--cases", default="all", help="comma-separated case names (default: all)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each case (runner pair + floor)")
    parser.add_argument("--json", type=pathlib.Path)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    results = {"machine": {"cores": cores, "python": platform.python_version(),
                           "load_average_at_start": os.getloadavg()}, "cases": []}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        many = photos(scratch / "photos", max(args.images, args.all_images))
        cases = []
        for workers in (1, 2):
            cases += [(f"cskip16-w{workers}", many[:args.images], ["--cskip", "16", "--workers", str(workers)]),
                      (f"cskip16-metrics-w{workers}", many[:args.images],
                       ["--cskip", "16", "--metrics", "--workers", str(workers)]),
                      (f"all-w{workers}", many[:args.all_images], ["--workers", str(workers)])]
        wanted = None if args.cases == "all" else set(args.cases.split(","))
        for name, images, options in cases:
            if wanted is not None and name not in wanted:
                continue
            small = min(args.small, len(images) // 3 or 1)
            entry = case(name, images, small, options, scratch, cores, args.rounds)
            results["cases"].append(entry)
            rounds = ", ".join(f"{m['ratio']:.3f}" for m in entry["rounds"])
            print(f"{name:20s} ratio median {entry['ratio_median']:.3f} (rounds {rounds}), of bests "
                  f"{entry['ratio_of_bests']:.3f}: runner {entry['runner_best_images_per_s']:.3f} img/s, floor "
                  f"{entry['floor_best_images_per_s']:.3f} img/s; {entry['passes_per_image']} passes/image, "
                  f"start-up {entry['startup_s_median']} s", flush=True)
    results["machine"]["load_average_at_end"] = os.getloadavg()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
