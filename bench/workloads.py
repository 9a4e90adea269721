"""The measured side of the benchmark: every system set up the same way, run in a child process.

bench/bench.py starts this file once per group (timing) and once per system (memory):

    python bench/workloads.py SPEC.json RESULT.json

SPEC is a JSON object (see bench.py); RESULT receives what was measured. Nothing here is imported
by the package or its tests.
"""
from __future__ import annotations

import contextlib
import copy
import ctypes
import ctypes.util
import gc
import importlib.util
import json
import os
import pathlib
import resource
import statistics
import sys
import threading
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
SAMPLE = REPO / "bindings" / "python" / "scorecam" / "models" / "data" / "sample_image_01.jpg"
LAYER = "head_relu6"
TARGET = 243          # bull mastiff, the top-1 class of the sample image
THREADS = 2           # the machine's cores: ONNX Runtime, torch and the engine each get 2
C = 3


# ---- memory: the kernel's peak-RSS counter, reset around the measured call --------------------

def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak() -> None:
    """Writing 5 to clear_refs resets VmHWM (the peak RSS) to the current RSS (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def extra_peak_mb(fn) -> tuple[float, float, float]:
    """(extra peak MB, RSS before MB, seconds): VmHWM during fn() minus VmRSS just before it."""
    gc.collect()
    reset_peak()
    before = _status_kb("VmRSS")
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    peak = _status_kb("VmHWM")
    return (peak - before) / 1024, before / 1024, seconds


# ---- memory write bandwidth -----------------------------------------------------------------------

def write_bandwidth(mib: int = 512, repeats: int = 5) -> dict:
    """Bytes per second the machine writes to DRAM: glibc memset (non-temporal stores above its
    threshold) over a buffer far larger than the caches, from 1 and from THREADS threads (ctypes
    releases the GIL), and numpy's fill(1.0) (ordinary stores). Best of `repeats` each."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    size = mib << 20
    buffer = np.empty(size, dtype=np.uint8)
    buffer.fill(0)  # fault every page in first
    base = buffer.ctypes.data

    def memset_threads(n: int) -> float:
        part = size // n
        threads = [threading.Thread(target=libc.memset, args=(base + i * part, i + 1, part)) for i in range(n)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return size / (time.perf_counter() - start)

    floats = buffer.view(np.float32)

    def fill() -> float:
        start = time.perf_counter()
        floats.fill(1.0)
        return size / (time.perf_counter() - start)

    result = {"buffer_mib": mib,
              "memset_1_thread": max(memset_threads(1) for _ in range(repeats)),
              f"memset_{THREADS}_threads": max(memset_threads(THREADS) for _ in range(repeats)),
              "numpy_fill_1_thread": max(fill() for _ in range(repeats))}
    result["best"] = max(v for k, v in result.items() if k != "buffer_mib")
    return result


# ---- time spent inside the forward --------------------------------------------------------------

class Timed:
    """Wraps a forward: accumulates the seconds spent inside it (the rest of a run is the engine's
    and the binding's own, serial work)."""

    def __init__(self, forward):
        from scorecam._handle import borrows_batches

        self.forward = forward
        self.seconds = 0.0
        self.calls = 0
        # It keeps nothing itself: it borrows the engine's batches when the forward it wraps does.
        self.keeps_batches = not borrows_batches(forward)

    def __call__(self, batch):
        start = time.perf_counter()
        try:
            return self.forward(batch)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1


# ---- the workload ---------------------------------------------------------------------------------

class Workload:
    """W-Lite0: EfficientNet-Lite0, the sample image at 224x224, layer head_relu6 (1280x7x7)."""

    def __init__(self, need_torch: bool):
        from scorecam.models import efficientnet_lite0

        self.bundle = efficientnet_lite0()
        self.x = self.bundle.preprocess(SAMPLE)          # (1, 3, 224, 224) float32
        self.ort = self.bundle.onnx(threads=THREADS)
        logits, self.acts = self.ort.run(self.x)         # (1, 1000), (1, 1280, 7, 7)
        self.top = np.argsort(-logits[0], kind="stable")
        assert int(self.top[0]) == TARGET, self.top[:5]
        self.torch_model = None
        if need_torch:
            import onnx2torch
            import torch

            torch.set_num_threads(THREADS)
            self.torch_model = onnx2torch.convert(str(self.bundle.path)).eval()

    def cskip_channels(self, k: int) -> np.ndarray:
        """CSKIP's channels: the top k by spatial maximum, in the engine's order."""
        from scorecam import Explainer

        with Explainer(lambda b: np.zeros((len(b), 1), np.float32), output_dim=1, cskip=k,
                       threads=THREADS) as e:
            e.explain(self.x[0], self.acts[0], 0)
            return e.details().channels

    def masked_inputs(self, channels=None) -> np.ndarray:
        """The engine's masked images for `channels` (all by default): (K', 3, 224, 224)."""
        from scorecam import Explainer

        with Explainer(lambda b: b, output_dim=1, threads=THREADS) as e:
            return e.masks(self.acts[0], self.x.shape[2:], channels, x=self.x[0])

    # ---- the forwards alone: the floor -----------------------------------------------------------

    def ort_forward(self):
        return self.ort.forward

    def torch_forward(self):
        import torch

        model = self.torch_model

        def forward(batch: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return model(torch.from_numpy(batch)).numpy()
        return forward

    @staticmethod
    def floor(forward, inputs: np.ndarray, batch: int, unmasked: np.ndarray | None = None):
        """(run, warmup): the forward over all the inputs in batches (after one pass of `unmasked`,
        when given: what an API that computes the activations itself cannot avoid), and its
        warm-up, one batch."""
        def run():
            if unmasked is not None:
                forward(unmasked)
            for i in range(0, len(inputs), batch):
                forward(inputs[i:i + batch])

        def warmup():
            if unmasked is not None:
                forward(unmasked)
            forward(inputs[:batch])
        return run, warmup


# ---- systems: each a factory returning a zero-argument callable that runs one explanation -------

def ours_explainer(w: Workload, batch: int, k: int | None, targets=TARGET, threads: int = THREADS,
                   prefix: int | None = None):
    """Ours through `scorecam.Explainer`, ONNX Runtime forward. k: CSKIP K' (None = all 1280);
    prefix: explain only the first `prefix` channels (the scaling sweeps)."""
    from scorecam import Explainer

    forward = Timed(w.ort.forward)
    explainer = Explainer(forward, batch_size=batch, cskip=k, threads=threads)
    x = w.x[0]
    acts = w.acts[0] if prefix is None else np.ascontiguousarray(w.acts[0, :prefix])
    run = lambda: explainer.explain(x, acts, targets)  # noqa: E731
    run.timed = forward
    return run, lambda: explainer.explain(x, acts, targets, cskip=min(batch, k or prefix or batch))


def ours_seed_api(w: Workload, batch: int, k: int | None):
    """Ours through the seed-compatible `scorecam.ScoreCAM`, torch forward (includes the unmasked
    forward that gives the activations, as the seed's compute() does)."""
    import torch
    from scorecam import ScoreCAM

    cam = ScoreCAM(w.torch_model, LAYER)
    cam._run = Timed(cam._run)  # every forward it makes, the unmasked one included
    x = torch.from_numpy(w.x)
    run = lambda: cam.compute(x, TARGET, batch_size=batch, cskip=k is not None, cskip_out=k or 16)  # noqa: E731
    run.timed = cam._run
    return run, lambda: cam.compute(x, TARGET, batch_size=batch, cskip=True, cskip_out=min(batch, k or batch))


def seed_code(w: Workload, batch: int, k: int | None):
    """tiskw/scorecam-pytorch's scorecam.py at $SCORECAM_SEED_CODE, unmodified."""
    import torch

    path = os.environ.get("SCORECAM_SEED_CODE")
    if not path or not os.path.isfile(path):
        raise Skipped("SCORECAM_SEED_CODE does not point at the seed's scorecam.py")
    spec = importlib.util.spec_from_file_location("seed_scorecam", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cam = module.ScoreCAM(w.torch_model, LAYER)
    x = torch.from_numpy(w.x)
    return (lambda: cam.compute(x, TARGET, batch_size=batch, cskip=k is not None, cskip_out=k or 16),
            lambda: cam.compute(x, TARGET, batch_size=batch, cskip=True, cskip_out=min(batch, k or batch)))


def gradcam(w: Workload, batch: int, k: int | None):
    """pytorch-grad-cam's ScoreCAM (no channel skipping); the whole call, unmasked pass included."""
    if k is not None:
        raise Skipped("pytorch-grad-cam has no channel skipping")
    return gradcam_on(w.torch_model, LAYER, w.x, TARGET, batch)


def torchcam(w: Workload, batch: int, k: int | None):
    """torchcam's ScoreCAM (no channel skipping): the hooked forward of the image, then the CAM."""
    if k is not None:
        raise Skipped("torchcam has no channel skipping")
    return torchcam_on(w.torch_model, LAYER, w.x, TARGET, batch)


# ---- the peers on any torch model (also bench/torch_peers.py) ------------------------------------

def gradcam_on(model, layer: str, x: np.ndarray, target: int, batch: int):
    """pytorch-grad-cam's ScoreCAM on its own copy of `model`: (run() -> the (H, W) map, warm-up)."""
    import torch
    from pytorch_grad_cam import ScoreCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    model = copy.deepcopy(model)
    cam = ScoreCAM(model=model, target_layers=[model.get_submodule(layer)])
    cam.batch_size = batch
    tensor = torch.from_numpy(x)
    targets = [ClassifierOutputTarget(target)]
    return lambda: cam(input_tensor=tensor, targets=targets)[0], _model_warmup(model, batch, x.shape[1:])


def torchcam_on(model, layer: str, x: np.ndarray, target: int, batch: int):
    """torchcam's ScoreCAM on its own copy of `model`: (run() -> the (1, h, w) map, warm-up)."""
    import torch
    from torchcam.methods import ScoreCAM

    model = copy.deepcopy(model)
    cam = ScoreCAM(model, layer, batch_size=batch, input_shape=tuple(x.shape[1:]))
    tensor = torch.from_numpy(x)

    def run():
        with torch.no_grad():
            model(tensor)
        return cam(target)[0].numpy()
    return run, _model_warmup(model, batch, x.shape[1:])


def _model_warmup(model, batch: int, shape: tuple):
    """A peer without a cheap partial run: one batch of zeros through its copy of the model."""
    import torch

    zeros = torch.zeros((batch, *shape))

    def warm():
        with torch.no_grad():
            model(zeros)
    return warm


SYSTEMS = {"ours-explainer": ours_explainer, "ours-seed-api": ours_seed_api, "seed": seed_code,
           "pytorch-grad-cam": gradcam, "torchcam": torchcam}
TORCH_SYSTEMS = {"ours-seed-api", "seed", "pytorch-grad-cam", "torchcam"}


class Skipped(Exception):
    """A system that cannot run here (missing code, or it lacks the feature)."""


# ---- one item of a spec -> a callable --------------------------------------------------------------

class Items:
    """Builds what each spec item measures, caching the shared inputs."""

    def __init__(self, w: Workload):
        self.w = w
        self._masked: dict = {}

    def inputs(self, k: int | None, prefix: int | None = None) -> np.ndarray:
        """The masked images a run with CSKIP k (None = all) uses; prefix: the first n channels."""
        key = (k, prefix)
        if key not in self._masked:
            if prefix is not None:
                self._masked[key] = self.inputs(None)[:prefix]
            else:
                channels = None if k is None else self.w.cskip_channels(k)
                self._masked[key] = self.w.masked_inputs(channels)
        return self._masked[key]

    def build(self, item: dict):
        """item: {system, batch, k?, forward?, targets?, channels_prefix?}."""
        system, batch, k = item["system"], item["batch"], item.get("k")
        if system.startswith("floor-"):
            forward = self.w.ort_forward() if system == "floor-ort" else self.w.torch_forward()
            return Workload.floor(forward, self.inputs(k, item.get("channels_prefix")), batch,
                                  self.w.x if item.get("unmasked") else None)
        if system == "ours-explainer":
            targets = [int(t) for t in self.w.top[:item["targets"]]] if item.get("targets") else TARGET
            return ours_explainer(self.w, batch, k, targets, threads=item.get("threads", THREADS),
                                  prefix=item.get("channels_prefix"))
        return SYSTEMS[system](self.w, batch, k)  # (run, warmup)


# ---- engine only ----------------------------------------------------------------------------------

def engine_only(ks, sizes, batch: int, repeats: int, act_hw: int = 7) -> list[dict]:
    """A no-op forward (constant outputs) so every second is the engine's own work; the time spent
    inside the Python callback is measured and reported apart."""
    from scorecam import Explainer

    rng = np.random.default_rng(1)
    outputs = {}
    inside = [0.0]

    def noop(images: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        n = len(images)
        if n not in outputs:
            outputs[n] = np.zeros((n, 1000), np.float32)
        result = outputs[n]
        inside[0] += time.perf_counter() - start
        return result

    rows = []
    for size in sizes:
        x = rng.random((C, size, size), dtype=np.float32)
        for k in ks:
            acts = rng.random((k, act_hw, act_hw), dtype=np.float32)
            with Explainer(noop, batch_size=batch, threads=THREADS, output_dim=1000) as e:
                e.explain(x, acts, TARGET)  # warm-up
                times, insides, usage = [], [], []
                for _ in range(repeats):
                    inside[0] = 0.0
                    before = resource.getrusage(resource.RUSAGE_SELF)
                    start = time.perf_counter()
                    e.explain(x, acts, TARGET)
                    times.append(time.perf_counter() - start)
                    after = resource.getrusage(resource.RUSAGE_SELF)
                    insides.append(inside[0])
                    usage.append((after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime,
                                  after.ru_minflt - before.ru_minflt))
            rows.append({"k": k, "size": size, "batch": batch, "act_hw": act_hw, "runs": times,
                         "median_s": statistics.median(times), "callback_s": statistics.median(insides),
                         "user_s": statistics.median(u[0] for u in usage),
                         "sys_s": statistics.median(u[1] for u in usage),
                         "minor_faults": statistics.median(u[2] for u in usage),
                         "masked_bytes": k * C * size * size * 4})
    return rows


# ---- the groups ----------------------------------------------------------------------------------

def loadavg() -> list[float]:
    return [float(v) for v in open("/proc/loadavg").read().split()[:3]]


def run_timing(spec: dict) -> dict:
    """Every item warmed up with one batch through its own path, then `repeats` rounds over all
    items, forwards on even rounds and backwards on odd ones: a floor and the system it bounds sit
    next to each other, so a change in the machine's speed hits both alike, and bench.py compares
    them round by round."""
    items = spec["items"]
    need_torch = any(i["system"] in TORCH_SYSTEMS or i["system"] == "floor-torch" for i in items)
    w = Workload(need_torch)
    builder = Items(w)
    runs: list = [None] * len(items)
    notes: list = [None] * len(items)
    for index, item in enumerate(items):
        try:
            runs[index] = builder.build(item)
        except Skipped as why:
            notes[index] = str(why)
    for pair in runs:
        if pair is not None:
            pair[1]()
    times: list = [[] for _ in items]
    insides: list = [[] for _ in items]
    load = [loadavg()]
    for round_ in range(spec["repeats"]):
        # Odd rounds run the items in reverse, so neither member of a pair always goes first.
        order = range(len(items)) if round_ % 2 == 0 else reversed(range(len(items)))
        for index in order:
            if runs[index] is None:
                continue
            gc.collect()
            timed = getattr(runs[index][0], "timed", None)
            inside = timed.seconds if timed else 0.0
            start = time.perf_counter()
            runs[index][0]()
            times[index].append(time.perf_counter() - start)
            if timed:
                insides[index].append(timed.seconds - inside)
        load.append(loadavg())
    out = []
    for index, item in enumerate(items):
        row = dict(item)
        if runs[index] is None:
            row["skipped"] = notes[index]
        else:
            row.update(runs=times[index], median_s=statistics.median(times[index]))
            if insides[index]:
                row.update(forward_runs=insides[index], forward_median_s=statistics.median(insides[index]))
        out.append(row)
    return {"items": out, "loadavg": load}


def run_memory(spec: dict) -> dict:
    """A fresh process per system: model loaded, the unmasked forward done, and the system's
    warm-up (one batch of the configured size through its own path: the runtime's working set for
    that batch size then exists, as in any process that has run the model; twice, because ONNX Runtime sets up its memory
pattern for a shape on the second run). Then: reset the
    kernel's peak, one explanation, read the peak. A second explanation the same way shows the
    steady state."""
    item = spec["item"]
    need_torch = item["system"] in TORCH_SYSTEMS or item["system"] == "floor-torch"
    w = Workload(need_torch)
    try:
        run, warmup = Items(w).build(item)
    except Skipped as why:
        return {"item": item, "skipped": str(why)}
    warmup()
    warmup()
    first = extra_peak_mb(run)
    result = {"item": item, "extra_peak_mb": first[0], "rss_before_mb": first[1], "seconds": first[2]}
    if spec.get("second", True):
        second = extra_peak_mb(run)
        result.update(second_extra_peak_mb=second[0], second_rss_before_mb=second[1])
    return result


def main() -> None:
    spec = json.loads(pathlib.Path(sys.argv[1]).read_text())
    kind = spec["kind"]
    if kind == "timing":
        result = run_timing(spec)
    elif kind == "memory":
        result = run_memory(spec)
    elif kind == "engine":
        result = {"bandwidth_before": write_bandwidth(),
                  "rows": engine_only(spec["ks"], spec["sizes"], spec["batch"], spec["repeats"]),
                  "bandwidth_after": write_bandwidth()}
        result["scaling"] = engine_only(spec["scaling_ks"], [224], spec["batch"], spec["repeats"]) \
            + engine_only([1280], spec["scaling_sizes"], spec["batch"], spec["repeats"])
    else:
        raise SystemExit(f"unknown kind {kind!r}")
    pathlib.Path(sys.argv[2]).write_text(json.dumps(result))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
