"""`OnnxModel`: an ONNX Runtime model whose explained layer is exposed as an extra output, giving
Score-CAM both of its inputs: `forward` (batch -> outputs) and `activations(x)`.

`OnnxModel.layers(path)` (or `python -m scorecam layers MODEL.onnx`) lists the tensors one can
explain, in graph order, with the shapes ONNX shape inference gives them."""
from __future__ import annotations

import dataclasses
import difflib
import os
import warnings

import numpy as np

from ._deps import require


@dataclasses.dataclass(frozen=True)
class Layer:
    """A tensor produced inside an ONNX graph."""

    name: str    # the tensor's name: what OnnxModel(path, layer=...) takes
    op: str      # the op that produces it (Relu, Clip, Conv, ...)
    node: str    # the producing node's name (not a tensor name)
    shape: tuple | None  # inferred shape (None where a dimension is symbolic), or None if unknown


def _import():
    require("onnx", "onnxruntime", extra="onnx", purpose="OnnxModel")
    import onnx
    import onnxruntime

    return onnx, onnxruntime


def _shape(type_proto):
    if not type_proto.HasField("tensor_type") or not type_proto.tensor_type.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in type_proto.tensor_type.shape.dim)


def _layers(model) -> list[Layer]:
    onnx, _ = _import()
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - shapes are a convenience; names still list
        inferred = model
    shapes = {v.name: _shape(v.type) for v in (*inferred.graph.value_info, *inferred.graph.output)}
    # Constant nodes hold weights, not activations.
    return [Layer(name, node.op_type, node.name, shapes.get(name))
            for node in model.graph.node if node.op_type != "Constant" for name in node.output if name]


def _load(path):
    """An onnx.ModelProto from a path, or the ModelProto given (copied: OnnxModel adds an output)."""
    onnx, _ = _import()
    if isinstance(path, onnx.ModelProto):
        copy = onnx.ModelProto()
        copy.CopyFrom(path)
        return copy
    return onnx.load(os.fspath(path))


class OnnxModel:
    """path: an .onnx file (or a loaded onnx.ModelProto); layer: the name of the intermediate tensor to explain (e.g. the last
    activation before pooling; see `OnnxModel.layers(path)`); output: the model output to score
    (default: the first one). threads: ONNX Runtime intra-op threads (0 = its default).
    layer_is_output: the file already has `layer` among its outputs (the default model's has): it
    runs as it is, without the graph edit and the import of the onnx package that edit needs.

    A model exported with a fixed batch size (e.g. 1) is run in chunks of that size, with a
    warning: export it with a dynamic batch axis to let the engine's batches through whole."""

    # ONNX Runtime reads a batch during run() and keeps nothing of it: an Explainer lends this
    # model its own batch buffer instead of a copy (Explainer's borrow_batches).
    keeps_batches = False

    def __init__(self, path, layer: str, *, output: str | None = None, threads: int = 0,
                 layer_is_output: bool = False):
        require("onnx", "onnxruntime", extra="onnx", purpose="OnnxModel")
        import onnxruntime

        self.layer = layer
        self.path = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = None
        if layer_is_output and self.path is not None:
            # The file already outputs the layer: run it as it is. No graph edit, and no import of
            # the onnx package (0.8 s, most of a worker's start-up).
            session = onnxruntime.InferenceSession(self.path, options, providers=["CPUExecutionProvider"])
            names = [o.name for o in session.get_outputs()]
            if layer in names and (output is None or output in names):
                self.session, self.output = session, output or names[0]
        if self.session is None:
            self.session, self.output = self._edited_session(path, layer, output, options)
        first = self.session.get_inputs()[0]
        self.input = first.name
        batch = first.shape[0] if first.shape else None
        self.fixed_batch = batch if isinstance(batch, int) and batch > 0 else None
        if self.fixed_batch is not None:
            warnings.warn(f"{self.path or 'the model'}: the input {self.input!r} has a fixed batch size of "
                          f"{self.fixed_batch}; batches run {self.fixed_batch} image(s) at a time. Export with a "
                          "dynamic batch axis (torch.onnx.export(..., dynamic_axes={'input': {0: 'batch'}})) to run "
                          "them whole.",
                          stacklevel=2)

    def _edited_session(self, path, layer: str, output: str | None, options):
        """A session of the model with `layer` added to its outputs, and the output to score."""
        onnx, onnxruntime = _import()
        model = _load(path)
        path = self.path or "the model"
        graph = model.graph
        produced = [name for node in graph.node for name in node.output if name]
        if layer not in produced:
            raise ValueError(self._missing(path, layer, graph, produced))
        output = output or graph.output[0].name
        if output not in {o.name for o in graph.output}:
            raise ValueError(f"{path} has no output named {output!r}; outputs: "
                             + ", ".join(o.name for o in graph.output))
        if layer not in {o.name for o in graph.output}:
            graph.output.append(onnx.ValueInfoProto(name=layer))
        session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        return session, output

    @staticmethod
    def _missing(path, layer, graph, produced) -> str:
        message = f"{path} has no tensor named {layer!r}"
        nodes = {node.name: node for node in graph.node}
        if layer in nodes:
            outputs = [o for o in nodes[layer].output if o]
            return f"{message}: that is a node ({nodes[layer].op_type}); its output tensor is {', '.join(map(repr, outputs))}"
        # A torch module name ("layer4", "layer4.1"): torch's exporter scopes its tensors as
        # /layer4/layer4.1/...; the module's output is the last tensor in that scope.
        parts = layer.strip("/").split(".")
        scope = "/" + "/".join(".".join(parts[:i + 1]) for i in range(len(parts))) + "/"
        inside = [name for name in produced if name.startswith(scope)]
        if inside:
            return (f"{message}; the last tensor of the torch module {layer!r} is {inside[-1]!r} "
                    f"(list them with `python -m scorecam layers {path}`)")
        close = difflib.get_close_matches(layer, produced, n=5, cutoff=0.3)
        containing = [name for name in produced if layer and layer in name][:5]
        candidates = list(dict.fromkeys(close + containing))[:6]
        hint = f"; closest: {', '.join(map(repr, candidates))}" if candidates else ""
        return f"{message}{hint} (list them with `python -m scorecam layers {path}`)"

    @staticmethod
    def output_names(path) -> list[str]:
        """The names of the model's outputs, in order."""
        return [o.name for o in _load(path).graph.output]

    @staticmethod
    def layers(path: str | os.PathLike, *, four_d: bool = True) -> list[Layer]:
        """The tensors of the model at `path` in graph order; with four_d (default) only those
        shape inference gives 4 dimensions (N, K, h, w): the ones Score-CAM can explain."""
        onnx, _ = _import()
        found = _layers(onnx.load(os.fspath(path)))
        return [layer for layer in found if layer.shape is not None and len(layer.shape) == 4] if four_d else found

    def _run(self, names, batch: np.ndarray):
        if self.fixed_batch is None or len(batch) == self.fixed_batch:
            return self.session.run(names, {self.input: batch})
        size = self.fixed_batch
        pieces = []
        for start in range(0, len(batch), size):
            chunk = batch[start:start + size]
            count = len(chunk)
            if count < size:  # pad the last chunk, then drop the padding's outputs
                chunk = np.concatenate([chunk, np.zeros((size - count, *chunk.shape[1:]), chunk.dtype)])
            pieces.append([value[:count] for value in self.session.run(names, {self.input: chunk})])
        return [np.concatenate([piece[i] for piece in pieces]) for i in range(len(names))]

    def forward(self, batch: np.ndarray) -> np.ndarray:
        """(N, C, H, W) float32 -> outputs (N, ...) in the model's own shape."""
        return self._run([self.output], batch)[0]

    __call__ = forward

    def activations(self, x: np.ndarray) -> np.ndarray:
        """The explained layer's output for x (N, C, H, W): (N, K, h, w) float32."""
        return np.ascontiguousarray(self._run([self.layer], x)[0], dtype=np.float32)

    def run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Outputs (in the model's own shape) and activations of x in one pass."""
        outputs, activations = self._run([self.output, self.layer], x)
        return outputs, np.ascontiguousarray(activations, dtype=np.float32)
