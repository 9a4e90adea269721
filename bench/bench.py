"""scorecam benchmark: the engine against the forward-pass floor and against its peers, side by side.

    .venv/bin/python bench/bench.py --json build/bench/results.json        # the full run (~25 min)
    .venv/bin/python bench/bench.py --quick --json build/bench/quick.json  # CI smoke (~2 min)

Workload W-Lite0: EfficientNet-Lite0 (scorecam.models.efficientnet_lite0), the seed's sample image
at 224x224 preprocessed by the bundle, layer head_relu6 (1280x7x7), target 243, 2 threads for ONNX
Runtime, torch and the engine alike. Every measurement runs in a child process
(bench/workloads.py); timings are medians of --repeats rounds in which each system runs right
next to the floor that bounds it; extra peak RSS is measured in a fresh process per system.
See docs/BENCHMARKS.md for the method and the figures.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import pathlib
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
WORKER = HERE / "workloads.py"
# The bench-only dependencies (bench/requirements.txt); the peers are compared at these versions.
PEERS = {"pytorch-grad-cam": "grad-cam", "torchcam": "torchcam"}


# ---- what to run ---------------------------------------------------------------------------------

def item(system, batch, k=None, **extra):
    """k: CSKIP K' (None: all 1280 channels). The id names it in the JSON and matches memory rows."""
    d = {"system": system, "batch": batch, "k": k, **extra}
    parts = [system, f"b{batch}", "all" if k is None else f"k{k}"]
    parts += [f"{key}{value}" for key, value in extra.items() if key != "warmup"]
    d["id"] = "/".join(parts)
    return d


def plan(quick: bool) -> dict:
    # Quick mode stands in CSKIP K'=128 for "all channels" (10x fewer forwards) and drops the
    # peers that cannot skip channels.
    every = 128 if quick else None
    peers = [] if quick else [item("pytorch-grad-cam", 64), item("torchcam", 64)]
    # Diagnostics (full run): the engine's mask building on 1 worker thread instead of 2.
    diagnostics = [] if quick else [item("ours-explainer", 64, every, threads=1)]
    ort = [item("floor-ort", 64, every), item("ours-explainer", 64, every),
           item("ours-explainer", 64, every, targets=5), item("ours-explainer", 64, every, targets=20),
           *diagnostics, item("floor-ort", 128, every), item("ours-explainer", 128, every)]
    ort_cskip = [item("floor-ort", 64, 16), item("ours-explainer", 64, 16)]
    torch = [item("floor-torch", 64, every), item("ours-seed-api", 64, every),
             item("floor-torch", 128, every), item("ours-seed-api", 128, every),
             item("seed", 64, every), *peers]
    # The seed API computes the activations itself: its floor also gets the unmasked pass (0.1%
    # of a vanilla run, but a visible part of a CSKIP one).
    torch_cskip = [item("floor-torch", 64, 16), item("floor-torch", 64, 16, unmasked=1),
                   item("ours-seed-api", 64, 16), item("seed", 64, 16)]
    memory = [item("floor-ort", 64, every), item("ours-explainer", 64, every),
              item("floor-ort", 128, every), item("ours-explainer", 128, every),
              item("ours-explainer", 64, 16)]
    if not quick:
        memory += [item("floor-torch", 64), item("ours-seed-api", 64), item("floor-torch", 128),
                   item("ours-seed-api", 128), item("seed", 64), item("seed", 64, 16), *peers]
    if quick:
        scaling = [item("floor-ort", 32, channels_prefix=64), item("ours-explainer", 32, channels_prefix=64)]
        engine = {"ks": [512], "sizes": [224], "scaling_ks": [128, 512], "scaling_sizes": [112, 224]}
    else:
        scaling = []
        for k in (128, 256, 512, 1024, 1280):
            scaling += [item("floor-ort", 64, channels_prefix=k), item("ours-explainer", 64, channels_prefix=k)]
        for b in (16, 32, 64, 128, 256):
            scaling += [item("floor-ort", b, channels_prefix=512), item("ours-explainer", b, channels_prefix=512)]
        engine = {"ks": [512, 1280, 2048], "sizes": [224, 448],
                  "scaling_ks": [128, 256, 512, 1024, 1280, 2048], "scaling_sizes": [112, 224, 336, 448]}
    return {"ort": ort, "ort-cskip": ort_cskip, "torch": torch, "torch-cskip": torch_cskip,
            "memory": memory, "scaling": scaling, "engine": engine}


TIMING_GROUPS = ("ort", "ort-cskip", "torch", "torch-cskip")


# ---- running children ---------------------------------------------------------------------------

def busy_cpu_s() -> float:
    """CPU-seconds the whole machine has been busy (all processes), from /proc/stat."""
    fields = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def child(spec: dict, env: dict, log) -> dict:
    """Runs one spec in a fresh process. Also measures the other processes' CPU use meanwhile
    (the machine's busy time minus the child's own): the noise figure of that measurement."""
    with tempfile.TemporaryDirectory(prefix="scorecam-bench-") as tmp:
        spec_path, result_path = pathlib.Path(tmp, "spec.json"), pathlib.Path(tmp, "result.json")
        spec_path.write_text(json.dumps(spec))
        busy, own = busy_cpu_s(), children_cpu_s()
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, str(WORKER), str(spec_path), str(result_path)],
                              env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0 or not result_path.exists():
            log(proc.stdout[-2000:] + proc.stderr[-4000:])
            raise SystemExit(f"bench child failed ({proc.returncode}): {spec.get('kind')} "
                             f"{spec.get('item', {}).get('id', '')}")
        result = json.loads(result_path.read_text())
        result["wall_s"] = time.perf_counter() - start
        foreign = (busy_cpu_s() - busy) - (children_cpu_s() - own)
        result["other_processes_cpu_s"] = round(foreign, 2)
        result["other_processes_cores"] = round(max(foreign, 0) / result["wall_s"], 3)
        return result


def environment() -> dict:
    def version(dist):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    mem = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    import scorecam

    lib_path = pathlib.Path(scorecam.__file__).parent / "libscorecam.so"
    lib_path = pathlib.Path(os.environ.get("SCORECAM_LIBRARY", lib_path))

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    return {
        "nproc": int(subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or os.cpu_count()),
        "cpu": cpu, "mem_total_gib": round(mem / 2**20, 1), "kernel": platform.release(),
        "python": platform.python_version(),
        "versions": {name: version(name) for name in
                     ("numpy", "onnxruntime", "onnx", "torch", "onnx2torch", "grad-cam", "torchcam",
                      "matplotlib", "scorecam")},
        "libscorecam": scorecam.library_version(), "libscorecam_path": str(lib_path),
        "libscorecam_sha256": hashlib.sha256(lib_path.read_bytes()).hexdigest()[:16] if lib_path.is_file() else None,
        "git_commit": git("rev-parse", "--short", "HEAD"), "git_dirty": bool(git("status", "--porcelain")),
        "seed_code": os.environ.get("SCORECAM_SEED_CODE"),
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
    }


# ---- the report ----------------------------------------------------------------------------------

LABEL = {"floor-ort": "floor: ONNX Runtime forward alone", "floor-torch": "floor: torch forward alone",
         "floor-torch+unmasked": "floor: torch fwd + unmasked pass",
         "ours-explainer": "ours: Explainer + ONNX Runtime", "ours-seed-api": "ours: ScoreCAM (seed API) + torch",
         "seed": "seed scorecam.py + torch", "pytorch-grad-cam": "pytorch-grad-cam ScoreCAM + torch",
         "torchcam": "torchcam ScoreCAM + torch"}


def channels_label(row):
    if row.get("channels_prefix"):
        return f"first {row['channels_prefix']}"
    return "all 1280" if row.get("k") is None else f"CSKIP {row['k']}"


def fmt(value, spec=".3f", none="-"):
    return none if value is None else format(value, spec)


def build_report(results: dict, quick: bool) -> dict:
    every = 128 if quick else None
    timing = {r["id"]: r for group in TIMING_GROUPS for r in results.get(group, {}).get("items", [])}
    memory = {r["item"]["id"]: r for r in results.get("memory", [])}

    def median(id_):
        row = timing.get(id_)
        return None if row is None or "median_s" not in row else row["median_s"]

    def ratio(a, b):
        """Median over rounds of a/b, each round's pair run back to back (same group)."""
        ra, rb = timing.get(a, {}).get("runs"), timing.get(b, {}).get("runs")
        if not ra or not rb or len(ra) != len(rb):
            return None
        return statistics.median(x / y for x, y in zip(ra, rb))

    def ratio_of_minima(a, b):
        ra, rb = timing.get(a, {}).get("runs"), timing.get(b, {}).get("runs")
        return None if not ra or not rb else min(ra) / min(rb)

    def floor_of(row):
        if row["system"] in ("ours-explainer",):
            base = "floor-ort"
        elif row["system"] in ("ours-seed-api", "seed", *PEERS):
            base = "floor-torch"
        else:
            return None
        return item(base, row["batch"], row["k"])["id"]

    def api_floor_of(row):
        if row["system"] not in ("ours-seed-api", "seed") or row["k"] is None or row["k"] == every:
            return None
        return item("floor-torch", row["batch"], row["k"], unmasked=1)["id"]

    rows = []
    for group in TIMING_GROUPS:
        for row in results.get(group, {}).get("items", []):
            floor_id = floor_of(row) if not row.get("targets") else None
            api_floor = api_floor_of(row)
            mem = memory.get(row["id"], {})
            label = LABEL[row["system"] + ("+unmasked" if row.get("unmasked") else "")]
            if row.get("threads"):
                label += f", engine {row['threads']} thread"
            fwd = row.get("forward_median_s")
            rows.append({
                "id": row["id"], "system": label, "batch": row["batch"],
                "channels": channels_label(row), "targets": row.get("targets", 1),
                "median_s": row.get("median_s"), "min_s": min(row["runs"]) if row.get("runs") else None,
                "runs": row.get("runs"), "skipped": row.get("skipped"),
                "in_forward_s": fwd,
                "outside_forward_s": None if fwd is None else row["median_s"] - fwd,
                "vs_floor": ratio(row["id"], floor_id) if floor_id else None,
                "vs_floor_minima": ratio_of_minima(row["id"], floor_id) if floor_id else None,
                "vs_api_floor": ratio(row["id"], api_floor) if api_floor else None,
                "extra_peak_mb": mem.get("extra_peak_mb"),
                "second_extra_peak_mb": mem.get("second_extra_peak_mb"),
            })

    targets = []

    def target(name, value, limit, op="<="):
        ok = None if value is None else (value <= limit if op == "<=" else value >= limit)
        targets.append({"target": name, "value": value, "limit": f"{op} {limit}",
                        "reached": ok})

    for b in (64, 128):
        target(f"ours/floor, vanilla, ONNX Runtime, batch {b}",
               ratio(item("ours-explainer", b, every)["id"], item("floor-ort", b, every)["id"]), 1.02)
        target(f"ours/floor, vanilla, torch (seed API), batch {b}",
               ratio(item("ours-seed-api", b, every)["id"], item("floor-torch", b, every)["id"]), 1.02)
    target("ours/floor, CSKIP 16, ONNX Runtime",
           ratio(item("ours-explainer", 64, 16)["id"], item("floor-ort", 64, 16)["id"]), 1.05)
    target("ours/floor, CSKIP 16, torch (seed API)",
           ratio(item("ours-seed-api", 64, 16)["id"], item("floor-torch", 64, 16)["id"]), 1.05)
    targets.append({"target": "ours/(floor + the unmasked pass the seed API makes), torch, CSKIP 16",
                    "value": ratio(item("ours-seed-api", 64, 16)["id"], item("floor-torch", 64, 16, unmasked=1)["id"]),
                    "limit": "(reported)", "reached": None})
    ours_torch = item("ours-seed-api", 64, every)["id"]
    target("seed/ours (torch forward, vanilla, batch 64): ours faster",
           ratio(item("seed", 64, every)["id"], ours_torch), 1.0, ">=")
    target("seed/ours (torch forward, CSKIP 16): ours faster",
           ratio(item("seed", 64, 16)["id"], item("ours-seed-api", 64, 16)["id"]), 1.0, ">=")
    for peer in PEERS:
        target(f"{peer}/ours (torch forward, vanilla, batch 64)",
               ratio(item(peer, 64)["id"], ours_torch), 2.0, ">=")
    for b in (64, 128):
        mem = memory.get(item("ours-explainer", b, every)["id"], {})
        target(f"extra peak RSS MiB, one vanilla explanation, ONNX Runtime, batch {b}",
               mem.get("extra_peak_mb"), 150)
    for b in (64, 128):
        mem = memory.get(item("ours-seed-api", b)["id"], {})
        floor = memory.get(item("floor-torch", b)["id"], {})
        if mem:
            target(f"extra peak RSS MiB, one vanilla explanation, torch (seed API), batch {b}",
                   mem.get("extra_peak_mb"), 150)
            if floor.get("extra_peak_mb") is not None:
                target(f"  the same above the torch forward's own peak (floor {floor['extra_peak_mb']:.0f} MiB)",
                       mem["extra_peak_mb"] - floor["extra_peak_mb"], 150)
    one = item("ours-explainer", 64, every)["id"]
    for t in (5, 20):
        value = ratio(item("ours-explainer", 64, every, targets=t)["id"], one)
        if t == 20:
            target("20 targets / 1 target (ours, ONNX Runtime)", value, 1.05)
        else:
            targets.append({"target": "5 targets / 1 target (ours, ONNX Runtime)", "value": value,
                            "limit": "(reported)", "reached": None})

    engine = results.get("engine")
    engine_rows = []
    if engine:
        bandwidth = max(engine["bandwidth_before"]["best"], engine["bandwidth_after"]["best"])
        for row in engine["rows"]:
            bound = row["masked_bytes"] / bandwidth
            engine_rows.append({**row, "min_s": min(row["runs"]), "images_per_s": row["k"] / row["median_s"],
                                "bound_s": bound, "vs_bound": row["median_s"] / bound,
                                "gb_per_s": row["masked_bytes"] / row["median_s"] / 1e9})
            target(f"engine-only time / memory-bandwidth bound, K={row['k']}, {row['size']}x{row['size']}",
                   row["median_s"] / bound, 2.0)
    return {"rows": rows, "targets": targets, "engine": engine_rows}


def print_report(report: dict, results: dict, env: dict, out) -> None:
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p(f"\nscorecam benchmark, W-Lite0 (EfficientNet-Lite0, sample_image_01.jpg 224x224, head_relu6 1280x7x7, "
      f"target 243, 2 threads)")
    p(f"machine: nproc={env['nproc']}, {env['cpu']}, {env['mem_total_gib']} GiB, kernel {env['kernel']}; "
      f"load average at start {' '.join(env['loadavg_start'])}, at end {' '.join(env.get('loadavg_end', []))}")
    v = env["versions"]
    p(f"versions: libscorecam {env['libscorecam']} ({env['libscorecam_sha256']}), git {env['git_commit']}"
      f"{' (dirty)' if env['git_dirty'] else ''}, python {env['python']}, numpy {v['numpy']}, onnxruntime "
      f"{v['onnxruntime']}, torch {v['torch']}, onnx2torch {v['onnx2torch']}, grad-cam {v['grad-cam']}, "
      f"torchcam {v['torchcam']}")
    p(f"rounds: ONNX Runtime {results['repeats']}, torch {results['torch_repeats']}, CSKIP groups 10x that; "
      f"median shown (all runs in the JSON); 'vs floor' = median over rounds of system/floor run back to back")
    noise = [f"{g} {results[g]['other_processes_cores']:.2f}" for g in (*TIMING_GROUPS, "scaling", "engine")
             if g in results and "other_processes_cores" in results[g]]
    if results.get("memory"):
        noise.append(f"memory {max(m.get('other_processes_cores', 0) for m in results['memory']):.2f} (max)")
    if noise:
        p(f"other processes' CPU use during each group, in cores (0 = a quiet machine): {', '.join(noise)}")
    p("")
    header = f"{'system':<46} {'batch':>5} {'channels':>10} {'T':>3} {'median s':>9} {'min s':>8} {'in fwd s':>8} " \
             f"{'vs floor':>8} {'(minima)':>8} {'vs API fl':>9} {'+peak MiB':>9} {'2nd':>5}"
    p(header)
    p("-" * len(header))
    for row in report["rows"]:
        if row["skipped"]:
            p(f"{row['system']:<46} {row['batch']:>5} {row['channels']:>10} {row['targets']:>3}   skipped: {row['skipped']}")
            continue
        p(f"{row['system']:<46} {row['batch']:>5} {row['channels']:>10} {row['targets']:>3} "
          f"{fmt(row['median_s']):>9} {fmt(row['min_s']):>8} {fmt(row['in_forward_s']):>8} {fmt(row['vs_floor']):>8} "
          f"{fmt(row['vs_floor_minima']):>8} {fmt(row['vs_api_floor']):>9} {fmt(row['extra_peak_mb'], '.0f'):>9} "
          f"{fmt(row['second_extra_peak_mb'], '.0f'):>5}")
    if report["engine"]:
        e = results["engine"]
        bw = lambda b: f"memset 1 thread {b['memset_1_thread'] / 1e9:.1f}, 2 threads {b['memset_2_threads'] / 1e9:.1f}, " \
                       f"numpy fill {b['numpy_fill_1_thread'] / 1e9:.1f} GB/s"  # noqa: E731
        p(f"\nengine only (no-op forward, batch {e['rows'][0]['batch']}, activations 7x7, 2 threads); "
          f"write bandwidth: before {bw(e['bandwidth_before'])}; after {bw(e['bandwidth_after'])}")
        header = f"{'K':>6} {'HxW':>9} {'median s':>9} {'masked img/s':>13} {'GB/s':>6} {'bound s':>8} " \
                 f"{'vs bound':>8} {'in callback s':>13} {'user s':>7} {'sys s':>6} {'page faults':>11}"
        p(header)
        p("-" * len(header))
        for r in report["engine"]:
            p(f"{r['k']:>6} {r['size']:>4}x{r['size']:<4} {r['median_s']:>9.3f} {r['images_per_s']:>13.0f} "
              f"{r['gb_per_s']:>6.1f} {r['bound_s']:>8.3f} {r['vs_bound']:>8.2f} {r['callback_s']:>13.4f} "
              f"{r['user_s']:>7.3f} {r['sys_s']:>6.3f} {r['minor_faults']:>11.0f}")
    if results.get("scaling"):
        p(f"\nscaling (ONNX Runtime forward, median of {len(results['scaling']['items'][0]['runs'])} rounds): see the plot")
        for r in results["scaling"]["items"]:
            p(f"  {LABEL[r['system']]:<36} batch {r['batch']:>4}  {channels_label(r):>10}  {fmt(r.get('median_s'))} s")
    p("\ntargets")
    for t in report["targets"]:
        verdict = {True: "REACHED", False: "MISSED", None: "-"}[t["reached"]]
        p(f"  {verdict:<8} {t['target']}: {fmt(t['value'])} (target {t['limit']})")


def plot(results: dict, report: dict, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    engine = results.get("engine")
    bandwidth = max(engine["bandwidth_before"]["best"], engine["bandwidth_after"]["best"]) if engine else None
    scaling = results.get("scaling", {}).get("items", [])

    def series(system, key, where):
        pts = {}
        for r in scaling:
            if r["system"] == system and where(r) and "median_s" in r:
                pts.setdefault(r[key], []).extend(r["runs"])
        xs = sorted(pts)
        return xs, [statistics.median(pts[x]) for x in xs]

    ax = axes[0]
    for system, style in (("floor-ort", "o--"), ("ours-explainer", "s-")):
        xs, ys = series(system, "channels_prefix", lambda r: r["batch"] == 64)
        if xs:
            ax.plot(xs, ys, style, label=LABEL[system] + " (batch 64)")
    if engine:
        pts = sorted((r["k"], r["median_s"], r["masked_bytes"]) for r in engine["scaling"] if r["size"] == 224)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "^-", label="engine only, no-op forward")
        ax.plot([p[0] for p in pts], [p[2] / bandwidth for p in pts], ":", label="write-bandwidth bound")
    ax.set(xlabel="channels K", ylabel="seconds", title="time vs K (224x224)", yscale="log")
    ax.legend(fontsize=7)

    ax = axes[1]
    if engine:
        pts = sorted((r["size"], r["median_s"], r["masked_bytes"]) for r in engine["scaling"] if r["k"] == 1280)
        ax.plot([f"{p[0]}²" for p in pts], [p[1] for p in pts], "^-", label="engine only, no-op forward")
        ax.plot([f"{p[0]}²" for p in pts], [p[2] / bandwidth for p in pts], ":", label="write-bandwidth bound")
    ax.set(xlabel="H x W", ylabel="seconds", title="engine only vs image size (K=1280)")
    ax.legend(fontsize=7)

    ax = axes[2]
    prefix = max((r.get("channels_prefix") or 0 for r in scaling if r["batch"] != 64), default=None)
    for system, style in (("floor-ort", "o--"), ("ours-explainer", "s-")):
        xs, ys = series(system, "batch", lambda r: r.get("channels_prefix") == prefix)
        if xs:
            ax.plot(xs, ys, style, label=LABEL[system])
    ax.set(xlabel="batch size", ylabel="seconds", title=f"time vs batch size (ONNX Runtime, K={prefix})", xscale="log")
    ax.minorticks_off()
    ax.set_xticks([16, 32, 64, 128, 256], labels=["16", "32", "64", "128", "256"])
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


# ---- main -----------------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI smoke: 1 round, CSKIP 128 stands in for all channels, no peers")
    parser.add_argument("--repeats", type=int, help="rounds of the ONNX Runtime timings and the engine-only runs "
                        "(default 5, quick 1); the cheap CSKIP groups run 10x as many")
    parser.add_argument("--torch-repeats", type=int, help="rounds of the torch timings (default 3, quick 1): "
                        "a torch round is ~5 minutes")
    parser.add_argument("--json", type=pathlib.Path, help="write every figure here as JSON")
    parser.add_argument("--plot", type=pathlib.Path, help="the scaling plot (PNG); default docs/bench_scaling.png, "
                        "quick: build/bench/scaling-quick.png")
    parser.add_argument("--only", default="ort,ort-cskip,torch,torch-cskip,memory,engine,scaling",
                        help="comma-separated groups to run: ort, ort-cskip, torch, torch-cskip, memory, engine, scaling")
    parser.add_argument("--from-json", type=pathlib.Path,
                        help="measure nothing: print the table and redraw the plot from a --json file")
    parser.add_argument("--seed-code", help="the seed's scorecam.py (else $SCORECAM_SEED_CODE; missing: skipped)")
    args = parser.parse_args(argv)
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        results, env = saved["raw"], saved["environment"]
        report = build_report(results, results["quick"])
        print_report(report, results, env, sys.stdout)
        if args.plot and results.get("engine") and results.get("scaling"):
            plot(results, report, args.plot)
            print(f"\nplot: {args.plot}")
        return 0
    repeats = args.repeats or (1 if args.quick else 5)
    torch_repeats = args.torch_repeats or (1 if args.quick else 3)
    groups = set(args.only.split(","))
    env_vars = dict(os.environ, TQDM_DISABLE="1", PYTHONHASHSEED="0")
    if args.seed_code:
        env_vars["SCORECAM_SEED_CODE"] = args.seed_code
    env = environment()
    env["seed_code"] = env_vars.get("SCORECAM_SEED_CODE")
    todo = plan(args.quick)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    results: dict = {"quick": args.quick, "repeats": repeats, "torch_repeats": torch_repeats}
    start = time.perf_counter()

    def stamp(name):
        log(f"[bench {time.perf_counter() - start:6.0f}s] {name} (load {open('/proc/loadavg').read().split()[0]})")

    rounds = {"ort": repeats, "ort-cskip": 10 * repeats, "torch": torch_repeats,
              "torch-cskip": 10 * torch_repeats, "scaling": max(1, repeats // 2)}
    for group in (*TIMING_GROUPS, "scaling"):
        if group in groups and todo[group]:
            stamp(f"timing: {group} ({rounds[group]} rounds)")
            results[group] = child({"kind": "timing", "items": todo[group], "repeats": rounds[group]}, env_vars, log)
    if "engine" in groups:
        stamp("engine only")
        results["engine"] = child({"kind": "engine", "batch": 128, "repeats": repeats, **todo["engine"]}, env_vars, log)
    if "memory" in groups:
        results["memory"] = []
        for it in todo["memory"]:
            stamp(f"memory: {it['id']}")
            # The second explanation (steady state) only where it is cheap: ONNX Runtime.
            second = it["system"] in ("floor-ort", "ours-explainer")
            results["memory"].append(child({"kind": "memory", "item": it, "second": second}, env_vars, log))
    env["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    env["total_wall_s"] = round(time.perf_counter() - start, 1)
    report = build_report(results, args.quick)
    print_report(report, results, env, sys.stdout)
    plot_path = args.plot or (REPO / "build" / "bench" / "scaling-quick.png" if args.quick else REPO / "docs" / "bench_scaling.png")
    if "scaling" in groups and "engine" in groups:
        plot(results, report, plot_path)
        print(f"\nplot: {plot_path}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"environment": env, "report": report, "raw": results}, indent=1))
        print(f"json: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
