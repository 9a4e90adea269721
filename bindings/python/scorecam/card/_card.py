"""`ModelCard`: what the dataset runner needs to know about a model, in one object and one file.

A card says which model to load (an ONNX file, a TorchScript file or `package.module:factory`),
which layer to explain, how a picture becomes the model's input (size, resize, scale, mean, std,
channel order, layout, interpolation), what the outputs are (logits, probabilities, sigmoid
scores), the class names, and the task (classify, segment, detect). Cards are JSON, or TOML where
`tomllib` (Python 3.11+) or `tomli` is installed; relative paths are relative to the card's file.
The field names and their nesting are a format other tools read: docs/MODEL_CARDS.md."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import re
from typing import Any, Optional, Union

from ..errors import UsageError
from . import _fields as F

ONNX_METADATA_KEY = "scorecam.card"
_FACTORY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_DEFAULT_CARD = pathlib.Path(__file__).resolve().parents[1] / "models" / "data" / "efficientnet_lite0.card.json"


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """How a picture (8-bit RGB, any size) becomes the model's input (1, 3, H, W) (or NHWC):
    resized (squash: straight to size; shorter_side_then_center_crop: the shorter side to
    resize_to, then the centre size[0] x size[1], as torchvision's Resize(256) + CenterCrop(224)),
    then x * scale, (x - mean) / std per channel, in `channels` order and `layout`."""

    size: tuple = (224, 224)          # (H, W)
    resize: str = "squash"
    resize_to: Optional[int] = None   # shorter_side_then_center_crop: the shorter side's length
    scale: float = 1 / 255
    mean: tuple = (0.0, 0.0, 0.0)
    std: tuple = (1.0, 1.0, 1.0)
    channels: str = "RGB"
    layout: str = "NCHW"
    interpolation: str = "bilinear"

    @classmethod
    def from_dict(cls, values: dict) -> "InputSpec":
        if not isinstance(values, dict):
            raise UsageError(f"card field 'input' must be an object, got {values!r}")
        F.unknown(values, F.INPUT_FIELDS, "card field 'input'")
        spec = cls()
        return spec.replace(**values)

    def replace(self, **values) -> "InputSpec":
        """A copy with the given fields changed, each checked."""
        checked = {}
        for name, value in values.items():
            if name == "size":
                checked[name] = F.size(value)
            elif name == "resize":
                checked[name] = F.choice(value, F.RESIZES, "input.resize")
            elif name == "resize_to":
                checked[name] = None if value is None else F.count(value, "input.resize_to")
            elif name == "scale":
                checked[name] = F.number(value, "input.scale", positive=True)
            elif name in ("mean", "std"):
                checked[name] = F.triple(value, f"input.{name}", positive=name == "std")
            elif name == "channels":
                checked[name] = F.choice(value, F.CHANNELS, "input.channels")
            elif name == "layout":
                checked[name] = F.choice(value, F.LAYOUTS, "input.layout")
            elif name == "interpolation":
                checked[name] = F.choice(value, F.INTERPOLATIONS, "input.interpolation")
            else:
                F.unknown([name], F.INPUT_FIELDS, "card field 'input'")
        spec = dataclasses.replace(self, **checked)
        if spec.resize == "shorter_side_then_center_crop":
            if spec.resize_to is None:
                spec = dataclasses.replace(spec, resize_to=max(spec.size))
            if spec.resize_to < max(spec.size):
                raise UsageError(f"card field 'input.resize_to' ({spec.resize_to}) must be at least the larger "
                                 f"side of input.size {list(spec.size)}: the centre crop must fit")
        return spec

    def to_dict(self) -> dict:
        values = {"size": list(self.size), "resize": self.resize}
        if self.resize != "squash":
            values["resize_to"] = self.resize_to
        values.update(scale=self.scale, mean=list(self.mean), std=list(self.std), channels=self.channels,
                      layout=self.layout, interpolation=self.interpolation)
        return values


@dataclasses.dataclass(frozen=True)
class ModelCard:
    """A model and what it takes to use it on pictures; see the module docstring.

    model: a path (.onnx, or a TorchScript file), "package.module:factory" (an importable callable
        returning an nn.Module, (module, layer), a path, or a ModelBundle), or a loaded model
        object (TorchModel, OnnxModel, torch.nn.Module: used in this process only).
    layer: the ONNX tensor or torch module (by name) to explain.
    output: which output to score: an ONNX output name, a dict key or tuple index of a torch
        model's output, or "torchvision_detections" (a torchvision detector's list of dicts).
    reshape: for layers whose output is not (N, K, h, w): "feature_pyramid" (a dict of FPN levels,
        as torchvision detection backbones return) or "package.module:callable".
    outputs: "logits" (softmax gives probabilities), "probabilities" (used as they are) or
        "sigmoid" (multi-label: every class above `threshold` is a target).
    labels: a file (one name per line, or JSON) or a list; None: the model's own, else "class N".
    task: "classify", "segment" (each class covering at least `min_area` of the predicted mask is
        a target) or "detect" (each detection scoring at least `score_threshold` is a target).
    base_dir: where relative paths are resolved (the card file's directory).
    """

    model: Any = None
    layer: Optional[str] = None
    output: Union[str, int, None] = None
    reshape: Optional[str] = None
    input: InputSpec = InputSpec()
    outputs: str = "logits"
    threshold: float = 0.5
    labels: Union[str, tuple, None] = None
    task: str = "classify"
    min_area: float = 0.01
    score_threshold: float = 0.5
    max_detections: int = 100
    name: Optional[str] = None
    base_dir: Optional[str] = dataclasses.field(default=None, compare=False)

    # ---- reading and writing --------------------------------------------------------------------

    @classmethod
    def from_dict(cls, values: dict, base_dir: Union[str, os.PathLike, None] = None) -> "ModelCard":
        """A card from its JSON/TOML form (see docs/MODEL_CARDS.md); every field checked."""
        if not isinstance(values, dict):
            raise UsageError(f"a model card must be an object of fields, got {type(values).__name__}")
        F.unknown(values, F.TOP_FIELDS, "model card")
        if "model" not in values:
            raise UsageError("model card: the field 'model' is missing (an .onnx file, a TorchScript file "
                             "or package.module:factory)")
        base = None if base_dir is None else os.fspath(base_dir)
        return cls(base_dir=base).replace(**values)

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "ModelCard":
        """A card file: JSON, or TOML (.toml) where tomllib/tomli is available."""
        path = pathlib.Path(path)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise UsageError(f"cannot read the model card {path}: {error.strerror or error}") from None
        if path.suffix.lower() == ".toml":
            values = _parse_toml(data, path)
        else:
            try:
                values = json.loads(data)
            except ValueError as error:
                raise UsageError(f"model card {path} is not valid JSON: {error}") from None
        return cls.from_dict(values, base_dir=path.resolve().parent)

    @classmethod
    def default(cls) -> "ModelCard":
        """The default model's card (EfficientNet-Lite0, ImageNet-1k), shipped in the package."""
        return cls.load(_DEFAULT_CARD)

    @classmethod
    def from_onnx(cls, path: Union[str, os.PathLike]) -> Optional["ModelCard"]:
        """The card an ONNX file carries in its metadata_props (key "scorecam.card"), or None. Its
        `model` is the file itself."""
        from ..onnx import _import

        onnx, _ = _import()
        try:
            model = onnx.load(os.fspath(path), load_external_data=False)
        except Exception as error:  # noqa: BLE001 - onnx's own errors for a file that is not a model
            raise UsageError(f"cannot load the model {os.fspath(path)}: {error}") from None
        text = next((p.value for p in model.metadata_props if p.key == ONNX_METADATA_KEY), None)
        if text is None:
            return None
        try:
            values = json.loads(text)
        except ValueError as error:
            raise UsageError(f"{os.fspath(path)}: its {ONNX_METADATA_KEY} metadata is not JSON: {error}") from None
        if isinstance(values, dict):
            values = {**values, "model": os.path.basename(os.fspath(path))}
        return cls.from_dict(values, base_dir=pathlib.Path(path).resolve().parent)

    def embed(self, onnx_path: Union[str, os.PathLike], out: Union[str, os.PathLike, None] = None) -> None:
        """Writes this card (but its `model`) into an ONNX file's metadata_props, so the file
        carries its own card (`--model FILE` then needs no --card); into `out`, or in place."""
        from ..onnx import _import

        onnx, _ = _import()
        model = onnx.load(os.fspath(onnx_path))
        values = {key: value for key, value in self.to_dict().items() if key != "model"}
        kept = [(p.key, p.value) for p in model.metadata_props if p.key != ONNX_METADATA_KEY]
        del model.metadata_props[:]
        for key, value in kept + [(ONNX_METADATA_KEY, json.dumps(values))]:
            model.metadata_props.add(key=key, value=value)
        onnx.save(model, os.fspath(out if out is not None else onnx_path))

    def to_dict(self) -> dict:
        """The card's JSON form, every field explicit (paths as written)."""
        values: dict = {"model": self.model if isinstance(self.model, (str, type(None))) else _describe(self.model)}
        if self.name is not None:
            values = {"name": self.name, **values}
        values.update(layer=self.layer, output=self.output, reshape=self.reshape, input=self.input.to_dict(),
                      outputs=self.outputs)
        if self.outputs == "sigmoid":
            values["threshold"] = self.threshold
        values.update(labels=list(self.labels) if isinstance(self.labels, tuple) else self.labels, task=self.task)
        if self.task == "segment":
            values["min_area"] = self.min_area
        if self.task == "detect":
            values.update(score_threshold=self.score_threshold, max_detections=self.max_detections)
        return {key: value for key, value in values.items() if value is not None}

    def to_json(self) -> str:
        """The JSON form, indented, with short lists (size, mean, std) on one line."""
        text = json.dumps(self.to_dict(), indent=2)
        return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text) + "\n"

    # ---- changing ---------------------------------------------------------------------------------

    def replace(self, **values) -> "ModelCard":
        """A copy with fields changed and checked. Input fields may be given flat (size=, mean=,
        scale= ...) or as input={...}; `bgr=True` is channels="BGR"."""
        checked: dict = {}
        input_changes = {}
        for name, value in values.items():
            if name == "input":
                spec = InputSpec.from_dict(value) if isinstance(value, dict) else value
                if not isinstance(spec, InputSpec):
                    raise UsageError(f"card field 'input' must be an object, got {value!r}")
                checked["input"] = spec
            elif name in F.INPUT_FIELDS:
                input_changes[name] = value
            elif name == "bgr":
                input_changes["channels"] = "BGR" if value else "RGB"
            elif name == "model":
                if value is None or isinstance(value, str) and not value:
                    raise UsageError("card field 'model' must name a model")
                checked[name] = os.fspath(value) if isinstance(value, os.PathLike) else value
            elif name in ("layer", "reshape", "name"):
                checked[name] = None if value is None else F.text(value, name)
            elif name == "output":
                checked[name] = F.output(value)
            elif name == "outputs":
                checked[name] = F.choice(value, F.OUTPUTS, "outputs")
            elif name == "task":
                checked[name] = F.choice(value, F.TASKS, "task")
            elif name in ("threshold", "score_threshold", "min_area"):
                checked[name] = F.number(value, name, fraction=True)
            elif name == "max_detections":
                checked[name] = F.count(value, name)
            elif name == "labels":
                checked[name] = F.labels(value)
            elif name == "base_dir":
                checked[name] = None if value is None else os.fspath(value)
            else:
                F.unknown([name], F.TOP_FIELDS + F.INPUT_FIELDS + ("bgr",), "model card")
        card = dataclasses.replace(self, **checked)
        if input_changes:
            card = dataclasses.replace(card, input=card.input.replace(**input_changes))
        return card

    # ---- what the fields point to -----------------------------------------------------------------

    def path(self, name: Union[str, os.PathLike]) -> pathlib.Path:
        """A path of the card (model, labels) resolved against the card's directory."""
        path = pathlib.Path(name).expanduser()
        return path if path.is_absolute() or self.base_dir is None else pathlib.Path(self.base_dir) / path

    @property
    def model_kind(self) -> str:
        """"onnx", "torchscript", "factory" or "object"."""
        model = self.model
        if not isinstance(model, str):
            return "object"
        if _FACTORY.match(model) and not self.path(model).exists():
            return "factory"
        return "onnx" if model.lower().endswith(".onnx") else "torchscript"

    def label_names(self) -> Optional[list]:
        """The class names the card gives, read from its file if it names one; None if none."""
        if self.labels is None or isinstance(self.labels, tuple):
            return None if self.labels is None else list(self.labels)
        path = self.path(self.labels)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise UsageError(f"cannot read the labels file {path}: {error.strerror or error}") from None
        if path.suffix.lower() == ".json":
            try:
                values = json.loads(text)
            except ValueError as error:
                raise UsageError(f"labels file {path} is not valid JSON: {error}") from None
            if isinstance(values, dict):  # {"0": "tench", ...}
                try:
                    indexed = {int(k): v for k, v in values.items()}
                except ValueError:
                    raise UsageError(f"labels file {path}: the keys of a JSON object must be class indices") from None
                values = [str(indexed.get(i, f"class {i}")) for i in range(max(indexed, default=-1) + 1)]
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise UsageError(f"labels file {path}: expected a JSON list of names or an {{index: name}} object")
            return values
        return [line.strip() for line in text.splitlines() if line.strip()]

    def identity(self, model_digest: str, labels: Optional[list]) -> str:
        """A hash of everything that changes what a run makes: the fields, the model's bytes or
        weights (`model_digest`) and the class names in use. A resumed run redoes an image whose
        row has another card hash."""
        values = self.to_dict()
        values.pop("name", None)  # a title, not a setting
        values["model"] = model_digest
        values["labels"] = labels
        return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def _parse_toml(data: bytes, path: pathlib.Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise UsageError(f"reading the TOML card {path} needs Python 3.11+ or `pip install tomli`; "
                             "or write the card as JSON") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise UsageError(f"model card {path} is not valid TOML: {error}") from None


def _describe(model) -> str:
    return f"<{type(model).__module__}.{type(model).__name__} object>"
