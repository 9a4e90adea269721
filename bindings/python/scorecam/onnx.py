"""`OnnxModel`: an ONNX Runtime model whose explained layer is exposed as an extra output, giving
Score-CAM both of its inputs: `forward` (batch -> outputs) and `activations(x)`."""
from __future__ import annotations

import os

import numpy as np

from ._deps import require


class OnnxModel:
    """path: an .onnx file; layer: the name of the intermediate tensor to explain (e.g. the last
    activation before pooling); output: the model output to score (default: the first one).
    threads: ONNX Runtime intra-op threads (0 = its default)."""

    def __init__(self, path: str | os.PathLike, layer: str, *, output: str | None = None, threads: int = 0):
        require("onnx", "onnxruntime", extra="onnx", purpose="OnnxModel")
        import onnx
        import onnxruntime

        model = onnx.load(os.fspath(path))
        graph = model.graph
        produced = {name for node in graph.node for name in node.output}
        if layer not in produced:
            raise ValueError(f"{path} has no tensor named {layer!r}")
        self.output = output or graph.output[0].name
        if self.output not in {o.name for o in graph.output}:
            raise ValueError(f"{path} has no output named {self.output!r}")
        self.layer = layer
        if layer not in {o.name for o in graph.output}:
            graph.output.append(onnx.ValueInfoProto(name=layer))
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                                    providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def forward(self, batch: np.ndarray) -> np.ndarray:
        """(N, C, H, W) float32 -> (N, D) outputs."""
        outputs = self.session.run([self.output], {self.input: batch})[0]
        return outputs.reshape(outputs.shape[0], -1)

    __call__ = forward

    def activations(self, x: np.ndarray) -> np.ndarray:
        """The explained layer's output for x (N, C, H, W): (N, K, h, w) float32."""
        return np.ascontiguousarray(self.session.run([self.layer], {self.input: x})[0], dtype=np.float32)

    def run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Outputs and activations of x in one pass."""
        outputs, activations = self.session.run([self.output, self.layer], {self.input: x})
        return outputs.reshape(outputs.shape[0], -1), np.ascontiguousarray(activations, dtype=np.float32)
