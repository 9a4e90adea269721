import pathlib

import numpy as np
import pytest
from scorecam.models import ModelBundle

REPO = pathlib.Path(__file__).resolve().parents[3]
# The seed's sample photo (a dog and a cat), MIT-licensed: the copy inside the installed package.
SAMPLE_IMAGE = ModelBundle.sample_image()


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long tests (the full model in torch, real worker pools, Ray): "
                            "`make test` runs them, `make check` (-m 'not slow') does not")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


class LinearModel:
    """outputs = W x + b over flattened images: a deterministic model with known behaviour."""

    def __init__(self, in_size: int, out_dim: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.weight = (rng.normal(size=(out_dim, in_size)) * 0.05).astype(np.float32)
        self.bias = rng.normal(size=out_dim).astype(np.float32)
        self.images = 0

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.images += len(batch)
        return batch.reshape(len(batch), -1) @ self.weight.T + self.bias


@pytest.fixture
def small_case(rng):
    c, h, w, k, ah, aw, d = 3, 20, 24, 12, 5, 6, 7
    x = rng.random((c, h, w), dtype=np.float32)
    activations = np.maximum(rng.normal(size=(k, ah, aw)), 0).astype(np.float32)
    return x, activations, LinearModel(c * h * w, d)
