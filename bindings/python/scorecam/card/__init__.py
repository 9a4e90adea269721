"""Model cards: what the dataset runner needs to know about a model (see `_card.ModelCard`).

    from scorecam import ModelCard
    card = ModelCard.load("resnet.card.json")          # or ModelCard.default(), ModelCard.from_onnx(path)
    card = card.replace(mean=[0.5] * 3, bgr=True)      # fields changed, each checked

The parts: _fields (the field names, their choices and checks), _card (ModelCard, InputSpec, JSON
and TOML), _preprocess (a picture -> the input, and the way back), _model (loading the model a card
names), _checks (what a run checks before any image)."""
from ._card import ONNX_METADATA_KEY, InputSpec, ModelCard
from ._checks import ModelShape, check_model
from ._model import CardModel, load_model
from ._preprocess import Geometry, prepare

__all__ = ["ModelCard", "InputSpec", "ONNX_METADATA_KEY", "CardModel", "load_model", "ModelShape", "check_model",
           "Geometry", "prepare"]
