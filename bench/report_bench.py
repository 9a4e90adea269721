"""The dataset report at scale: a synthetic 50,000-row manifest (ok rows with two targets, metrics
and thumbnails, 1% error rows), then the time `write_report` takes (target <= 15 s) and the time
headless Chromium takes to show the first gallery page (target <= 2 s; Debian's chromium and
chromium-driver with Selenium, as the report's tests use).

    python bench/report_bench.py [--rows 50000] [--json OUT.json]

Rows share 64 thumbnail and overlay files (the report never opens them; only the page's loading
and drawing are timed, with the pictures of its first page).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import random
import sys
import tempfile
import time


def make_run(out: pathlib.Path, rows: int) -> None:
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    (out / "thumbs").mkdir(exist_ok=True)
    pictures = []
    for i in range(64):
        name = f"shared_{i}"
        Image.new("RGB", (256, 192), (4 * i, 255 - 4 * i, 128)).save(out / f"{name}.png")
        Image.new("RGB", (256, 192), (4 * i, 128, 255 - 4 * i)).save(out / "thumbs" / f"{name}.jpg")
        pictures.append(name)
    random.seed(0)
    lines = []
    for i in range(rows):
        key = f"class_{i % 100:03d}/image_{i:06d}"
        if i % 100 == 99:
            lines.append({"key": key, "input": f"/data/{key}.jpg", "status": "error", "config": "bench",
                          "error": "not an image (Pillow cannot identify it)", "seconds": 0.01})
            continue
        classes = [i % 1000, (i * 7) % 1000]
        name = pictures[i % 64]
        predictions = [{"class": c, "label": f"label {c}", "probability": random.random() / 2} for c in classes]
        predictions += [{"class": 1000 - k, "label": f"label {1000 - k}", "probability": 0.01} for k in range(1, 4)]
        lines.append({
            "key": key, "input": f"/data/{key}.jpg", "status": "ok", "config": "bench", "size": [640, 480],
            "predictions": predictions, "targets": classes, "channels": 16, "forward_passes": 33,
            "metrics": {m: [random.random(), random.random()] for m in
                        ("average_drop", "increase_in_confidence", "insertion", "deletion")},
            "metric_forward_passes": 400, "files": [f"{name}.png", f"{name}.png"], "seconds": random.random(),
            "thumbnails": {"original": f"thumbs/{name}.jpg", "overlays": [f"thumbs/{name}.jpg"] * 2, "maps": [],
                           "map_ranges": []}})
    (out / "manifest.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def first_page_seconds(index: pathlib.Path) -> float:
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "bindings/python/tests"))
    from browser_helpers import open_report, start_browser

    browser = start_browser()
    try:
        browser.get("about:blank")
        start = time.perf_counter()
        open_report(browser, index)  # until the page says it has drawn: summary and first page
        return time.perf_counter() - start
    finally:
        browser.quit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50000)
    parser.add_argument("--json", type=pathlib.Path)
    args = parser.parse_args()
    from scorecam.dataset import write_report

    with tempfile.TemporaryDirectory() as folder:
        out = pathlib.Path(folder) / "out"
        make_run(out, args.rows)
        start = time.perf_counter()
        index = write_report(out, progress=False)
        generate = time.perf_counter() - start
        size = (index.parent / "data.js").stat().st_size
        page = first_page_seconds(index)
    result = {"rows": args.rows, "generate_s": round(generate, 2), "data_js_mib": round(size / 2 ** 20, 1),
              "first_page_s": round(page, 2)}
    print(f"{args.rows} rows: report written in {generate:.2f} s (data.js {size / 2 ** 20:.1f} MiB), "
          f"first gallery page in headless Chromium after {page:.2f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
