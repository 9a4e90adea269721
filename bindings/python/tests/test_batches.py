"""How batches reach the model: images with different classes share the forward batches
(scorecam_explainer_compute_per_image) with maps bit-identical to one image at a time, and a
forward that never keeps its batch reads the engine's buffer in place (borrow_batches)."""
import numpy as np
import pytest

import scorecam
from conftest import LinearModel


class RowByRow(LinearModel):
    """The linear model one image at a time: each image's outputs are the same bits whatever else
    its batch holds (a matrix product over the whole batch may round differently with its size,
    and then no batching can be bit-identical)."""

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return np.concatenate([super(RowByRow, self).__call__(batch[i:i + 1]) for i in range(len(batch))])


@pytest.fixture
def batch_case(rng):
    b, c, h, w, k, ah, aw, d = 5, 3, 16, 20, 9, 4, 5, 7
    x = rng.random((b, c, h, w), dtype=np.float32)
    activations = np.maximum(rng.normal(size=(b, k, ah, aw)), 0).astype(np.float32)
    return x, activations, RowByRow(c * h * w, d, seed=3)


class Counting:
    """A forward that counts its calls."""

    def __init__(self, model):
        self.model, self.calls = model, 0

    def __call__(self, batch):
        self.calls += 1
        return self.model(batch)


def test_each_image_its_top_class_in_shared_batches(batch_case):
    x, activations, model = batch_case
    tops = model(x).argmax(1)
    assert len(set(tops.tolist())) > 1  # the case needs images with different top classes
    forward = Counting(model)
    with scorecam.Explainer(forward, batch_size=8, output_dim=7) as explainer:
        forward.calls = 0
        together = explainer.explain(x, activations)  # None: each image's own top class
        calls_together = forward.calls
        assert together.shape == (5, 1, 16, 20)
        for i in range(len(x)):
            assert explainer.details(i).channels.size == 9  # details of every image of the call
        forward.calls = 0
        alone = np.stack([explainer.explain(x[i], activations[i], int(tops[i])) for i in range(len(x))])
        assert forward.calls > calls_together  # 5 x ceil(9 / 8) = 10 calls alone
        np.testing.assert_array_equal(together[:, 0], alone)


def test_a_table_of_targets_per_image(batch_case):
    x, activations, model = batch_case
    table = [[1, 4], [0, 0], [6, 2], [3, 5], [2, 1]]
    with scorecam.Explainer(model, batch_size=6) as explainer:
        maps = explainer.explain(x, activations, table)
        assert maps.shape == (5, 2, 16, 20)
        for i, row in enumerate(table):
            np.testing.assert_array_equal(maps[i], explainer.explain(x[i], activations[i], row))
        for metric in ("average_drop", "increase_in_confidence", "insertion", "deletion"):
            values = explainer.evaluate(x, maps, np.array(table), metric)
            for i, row in enumerate(table):
                np.testing.assert_array_equal(values[i], explainer.evaluate(x[i], maps[i], row, metric))
        # the same row for every image is the ordinary shared-targets call
        np.testing.assert_array_equal(explainer.explain(x, activations, [[1, 4]] * 5),
                                      explainer.explain(x, activations, [1, 4]))


def test_bad_tables_are_refused(batch_case):
    x, activations, model = batch_case
    with scorecam.Explainer(model) as explainer:
        with pytest.raises(ValueError, match="5 rows"):
            explainer.explain(x, activations, [[1], [2]])
        with pytest.raises(scorecam.ScoreCAMError, match="image 1's target 0 is class 9"):
            explainer.explain(x, activations, [[1], [9], [2], [3], [4]])
        with pytest.raises(TypeError, match="integers"):
            explainer.explain(x, activations, [[1.5], [2.0], [1.0], [3.0], [4.0]])


class Keeper:
    """A forward that keeps every batch it gets (as a test double recording its inputs would)."""

    def __init__(self, model):
        self.model, self.kept = model, []

    def __call__(self, batch):
        self.kept.append(batch)
        return self.model(batch)


def test_a_forward_that_says_so_borrows_the_engine_buffer(batch_case):
    x, activations, model = batch_case
    seen = []

    def forward(batch):
        seen.append((batch.flags.writeable, batch.flags.owndata))
        return model(batch)

    forward.keeps_batches = False
    with scorecam.Explainer(forward, batch_size=4, output_dim=7) as explainer:  # output_dim: no probe of x
        borrowed = explainer.explain(x[0], activations[0], 2)
    assert seen and all(flags == (False, False) for flags in seen)  # read-only views, no copy
    with scorecam.Explainer(model, batch_size=4) as explainer:
        copied = explainer.explain(x[0], activations[0], 2)
    np.testing.assert_array_equal(borrowed, copied)


def test_a_forward_that_keeps_a_borrowed_batch_ends_the_run(batch_case):
    x, activations, model = batch_case
    with scorecam.Explainer(Keeper(model), batch_size=4, borrow_batches=True) as explainer:
        with pytest.raises(RuntimeError, match="kept its batch"):
            explainer.explain(x[0], activations[0], 2)


def test_copies_by_default_so_kept_batches_stay_intact(batch_case):
    x, activations, model = batch_case
    keeper = Keeper(model)
    with scorecam.Explainer(keeper, batch_size=4, output_dim=7) as explainer:
        explainer.explain(x[0], activations[0], 2)
        masks = explainer.masks(activations[0], (16, 20), x=x[0])
    assert len(keeper.kept) == 3  # 9 channels in batches of 4
    np.testing.assert_array_equal(np.concatenate(keeper.kept), masks)


def test_onnx_models_borrow(tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    from scorecam.onnx import OnnxModel

    # y = mean over pixels of relu(x): a 4-D layer and an output.
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["act"]), helper.make_node("ReduceMean", ["act"], ["y"], axes=[2, 3], keepdims=0)],
        "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])])
    path = tmp_path / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    model = OnnxModel(path, "act")
    x = np.random.default_rng(2).random((1, 3, 8, 8), dtype=np.float32)
    _, activations = model.run(x)
    with scorecam.Explainer(model, batch_size=2) as explainer, \
            scorecam.Explainer(model, batch_size=2, borrow_batches=False) as copying:
        assert explainer._handle.borrow and not copying._handle.borrow
        np.testing.assert_array_equal(explainer.explain(x, activations, [1]), copying.explain(x, activations, [1]))
