"""Score-CAM on a GPU: ours (masked images, and masks mode) against the GPU forward-only floor and
against pytorch-grad-cam and torchcam on the same GPU (issue 13, point 4). Run by bench/gpu.sh.

    python bench/gpu_bench.py [--device cuda|cpu] [--channels N] [--rounds R] [--json PATH]

Models: EfficientNet-Lite0 (the default model, ImageNet weights, through onnx2torch; layer
head_relu6, 1280 x 7 x 7) and torchvision ResNet-50 with random weights (seeded; layer4,
2048 x 7 x 7). Input: the seed's sample image, 224 x 224. All channels, batch 64, one target.
Rows per model:
  floor        the GPU forward alone over the same masked images, already on the GPU
  ours images  scorecam.Explainer, masked images built on the CPU, copied to the GPU per batch
  ours masks   scorecam.Explainer(masks_forward=...): masks (1/3 of the bytes) copied, multiplied
               on the GPU (masks mode)
  TorchModel   scorecam.torch.TorchModel + Explainer: the adapter, in masks mode on CUDA by itself
  grad-cam     pytorch-grad-cam ScoreCAM (batch_size 64), same model on the GPU
  torchcam     torchcam ScoreCAM (batch_size 64), same model on the GPU
--device cpu with --channels 16 is the dry run that checks the script on a machine without a GPU.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import pathlib
import statistics
import sys
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
SAMPLE = REPO / "bindings" / "python" / "scorecam" / "models" / "data" / "sample_image_01.jpg"
BATCH = 64


def log(*args):
    print(*args, flush=True)


class Model:
    """A torch model on the device, its explained layer, the input and its activations."""

    def __init__(self, name: str, device, channels: int | None):
        import torch
        from scorecam.models import efficientnet_lite0

        self.name, self.device = name, device
        bundle = efficientnet_lite0()
        self.x = bundle.preprocess(SAMPLE)  # (1, 3, 224, 224) float32
        if name == "efficientnet-lite0":
            import onnx2torch

            self.module = onnx2torch.convert(str(bundle.path))
            self.layer_name = "head_relu6"
        else:
            import torchvision

            torch.manual_seed(0)
            self.module = torchvision.models.resnet50(weights=None)
            self.layer_name = "layer4"
        self.module = self.module.eval().to(device)
        self.layer = self.module.get_submodule(self.layer_name)
        captured = {}
        hook = self.layer.register_forward_hook(lambda m, i, o: captured.setdefault("a", o.detach()))
        with torch.inference_mode():
            logits = self.module(torch.from_numpy(self.x).to(device))
        hook.remove()
        self.target = int(logits[0].argmax())
        acts = captured["a"].float().cpu().numpy()
        self.acts = np.ascontiguousarray(acts[:, :channels] if channels else acts)
        self.k = self.acts.shape[1]
        self.x_device = torch.from_numpy(self.x).to(device)
        self._uploaded = (None, None)

    def sync(self):
        import torch

        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def forward(self, batch: np.ndarray) -> np.ndarray:
        """Masked images from the CPU: copy, forward, outputs back."""
        import torch

        with torch.inference_mode():
            images = torch.from_numpy(batch).to(self.device, non_blocking=False)
            return self.module(images).float().cpu().numpy()

    def forward_masks(self, masks: np.ndarray, images: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Masks mode: copy the masks only, multiply on the device (baseline 0)."""
        import torch

        with torch.inference_mode():
            if x is not self._uploaded[0]:  # the same array for a whole explain(): upload once
                self._uploaded = (x, torch.from_numpy(x).to(self.device))
            m = torch.from_numpy(masks).to(self.device)
            index = torch.from_numpy(images).to(self.device)
            return self.module(self._uploaded[1][index] * m).float().cpu().numpy()


def measure(run, rounds: int, sync) -> list[float]:
    run()  # warm-up (cuDNN autotuning, allocator)
    sync()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    return times


def systems(m: Model):
    """name -> zero-argument callable running one explanation (or the floor's forwards)."""
    import torch
    from scorecam import Explainer

    result = {}
    with Explainer(lambda b: b, output_dim=1) as e:
        masked = torch.from_numpy(e.masks(m.acts[0], m.x.shape[2:], None, x=m.x[0])).to(m.device)

    def floor():
        with torch.inference_mode():
            for i in range(0, len(masked), BATCH):
                m.module(masked[i:i + BATCH])
    result["floor: GPU forward alone"] = floor

    images = Explainer(m.forward, batch_size=BATCH)
    result["ours: masked images"] = lambda: images.explain(m.x[0], m.acts[0], m.target)
    masks = Explainer(m.forward, batch_size=BATCH, masks_forward=m.forward_masks)
    result["ours: masks mode"] = lambda: masks.explain(m.x[0], m.acts[0], m.target)
    # The adapter users get: TorchModel picks masks mode by itself on a CUDA device.
    from scorecam.torch import TorchModel

    adapter = Explainer(TorchModel(copy.deepcopy(m.module), m.layer_name, device=m.device), batch_size=BATCH)
    result["ours: TorchModel"] = lambda: adapter.explain(m.x[0], m.acts[0], m.target)

    if m.k == m.acts.shape[1] and os.environ.get("GPU_BENCH_NO_PEERS") is None:
        try:
            from pytorch_grad_cam import ScoreCAM as GradCamScoreCAM
            from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

            model = copy.deepcopy(m.module)
            cam = GradCamScoreCAM(model=model, target_layers=[model.get_submodule(m.layer_name)])
            cam.batch_size = BATCH
            target = [ClassifierOutputTarget(m.target)]
            result["pytorch-grad-cam ScoreCAM"] = lambda: cam(input_tensor=m.x_device, targets=target)
        except ImportError as error:
            log(f"  pytorch-grad-cam skipped: {error}")
        try:
            from torchcam.methods import ScoreCAM as TorchcamScoreCAM

            model2 = copy.deepcopy(m.module)
            tcam = TorchcamScoreCAM(model2, m.layer_name, batch_size=BATCH)

            def run_torchcam():
                with torch.no_grad():
                    model2(m.x_device)
                return tcam(m.target)
            result["torchcam ScoreCAM"] = run_torchcam
        except ImportError as error:
            log(f"  torchcam skipped: {error}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--channels", type=int, default=None, help="the first N channels only (dry run)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", default="efficientnet-lite0,resnet50")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    import torch

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device: run with --device cpu for the dry run")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    log(f"device {name}, torch {torch.__version__}, batch {BATCH}, median of {args.rounds} rounds after a warm-up")
    rows = []
    for model_name in args.models.split(","):
        try:
            m = Model(model_name, device, args.channels)
        except ImportError as error:  # torchvision for ResNet-50
            log(f"\n{model_name} skipped: {error}")
            continue
        log(f"\n{model_name}: layer {m.layer_name} {m.k}x{m.acts.shape[2]}x{m.acts.shape[3]}, target {m.target}")
        log(f"{'system':<30} {'median s':>9} {'images/s':>9} {'masked img/s':>13} {'vs floor':>9}")
        floor_s = None
        for system, run in systems(m).items():
            times = measure(run, args.rounds, m.sync)
            median = statistics.median(times)
            floor_s = floor_s or median
            rows.append({"model": model_name, "system": system, "k": m.k, "median_s": median, "runs_s": times})
            log(f"{system:<30} {median:9.4f} {1 / median:9.2f} {m.k / median:13.0f} {median / floor_s:9.3f}")
        del m
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"device": name, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
