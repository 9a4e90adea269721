"""Property-based cases of Explainer.explain / evaluate / masks (Hypothesis): random shapes,
dtypes, parameters and misbehaving callables. Property: every call returns a well-formed result
or raises a clean Python exception (the engine's ScoreCAMError, the binding's TypeError /
ValueError / RuntimeError, or the callable's own exception) -- the interpreter never dies.

Not collected by pytest directly: test_properties.py runs this file in a child interpreter, so a
crash fails that test instead of killing the test session."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scorecam

SETTINGS = settings(max_examples=250, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


class Boom(Exception):
    """What a misbehaving callable raises."""


CLEAN = (scorecam.ScoreCAMError, TypeError, ValueError, RuntimeError, Boom)

EXTREME = [0.0, 1.0, -1.0, 0.5, 1e-30, 1e30, 3e38, -3e38, 1e39, float("nan"), float("inf"), 10**19, -10**300 * 1.0,
           2**53, 2.5]

# Per parameter: values that are valid (drawn 3 times in 4), then values that are not.
PARAM_VALUES = {
    "batch_size": ([1, 2, 3, 128], [0, -3, 10**19, 2**31, 2.5]),
    "upsample": (["bicubic", "bilinear", "bilinear_align_corners"], ["nearest"]),
    "selection": (["all", "max", "std"], ["top"]),
    "selection_count": ([1, 2, 5], [0, -1, 10**6]),
    "skip_constant": ([0, 1], [2]),
    "norm_eps": ([0.0, 1e-10, 1e-8, 1e-300, 1e30], [-1.0, float("nan"), float("inf")]),
    "weighting": (["softmax", "raw"], ["max"]),
    "subtract_base": ([0, 1], [-1]),
    "score": (["logit", "softmax"], ["prob"]),
    "baseline": ([0.0, 0.5, -1.0, 1e30, 3e38], [1e39, float("nan")]),
    "normalize_map": ([0, 1], [3]),
    "threads": ([0, 1, 3], [1025, -1]),
    "normalize_mask_first": ([0, 1], [0.5]),
    "relu_before_upsampling": ([0, 1], [2]),
    "map_upsample": (["as_masks", "bicubic", "bilinear"], ["cubic"]),
    "map_at_activation_size": ([0, 1], [7]),
    "method": (["scorecam", "sscam", "iscam"], ["gradcam"]),
    "samples": ([0, 1, 3], [2**21, -1]),
    "noise_std": ([0.0, 2.0, 1e30, 3e38], [1e39, -1.0]),
    "seed": ([0, 7, 2**53], [2**60, -1, 10**400]),
    "adaptive_tolerance": ([0.0, 0.1, 1e-9], [-1.0, float("nan")]),
    "adaptive_step": ([1, 2, 8], [0]),
    "metric_steps": ([1, 3, 20], [0]),
    "metric_baseline": ([0.0, -1.0, 3e38], [1e39]),
    "batch_memory": ([1, 4096, 2**30], [0, -5]),
    "metric_score": (["logit", "softmax"], ["raw"]),
}


@st.composite
def parameter_sets(draw):
    params = {}
    for name in draw(st.lists(st.sampled_from(sorted(PARAM_VALUES)), max_size=4, unique=True)):
        valid, invalid = PARAM_VALUES[name]
        pool = invalid if draw(st.integers(0, 3)) == 0 else valid
        params[name] = draw(st.sampled_from(pool))
    return params


PARAMS = parameter_sets()

FORWARD_KINDS = ["good"] * 8 + ["raises", "wrong_shape", "nan", "none", "list", "keeps", "huge", "ints", "one_dim"]


def make_forward(kind, out_dim):
    kept = []

    def forward(batch):
        flat = batch.reshape(len(batch), -1).astype(np.float64)
        good = np.stack([flat.mean(1) * (j + 1) + j for j in range(out_dim)], axis=1)
        if kind == "raises":
            raise Boom("forward")
        if kind == "wrong_shape":
            return good[:, :-1]
        if kind == "nan":
            good[-1, 0] = np.nan
        if kind == "none":
            return None
        if kind == "list":
            return good.tolist()
        if kind == "keeps":
            kept.append(batch)
            _ = [b.sum() for b in kept]
        if kind == "huge":
            return np.full_like(good, 3e38)
        if kind == "ints":
            return good.astype(np.int64)
        if kind == "one_dim":
            return good[:, 0]
        return good
    return forward


def data(draw, shape, dtype):
    values = draw(st.sampled_from(["random"] * 6 + ["constant", "extreme", "nan"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    array = rng.random(shape)
    if values == "constant":
        array[...] = 0.5
    elif values == "extreme" and array.size:
        array.flat[0] = draw(st.sampled_from([3e38, -3e38, 1e30, 1e-40]))
    elif values == "nan" and array.size:
        array.flat[-1] = np.nan
    return array.astype(dtype)


DTYPES = st.sampled_from([np.float32] * 12 + [np.float64, np.float16, np.int32])


@st.composite
def cases(draw):
    b = draw(st.sampled_from([None, 1, 2]))
    c, h, w = draw(st.integers(1, 3)), draw(st.integers(1, 10)), draw(st.integers(1, 10))
    k, ah, aw = draw(st.integers(1, 6)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    ah, aw = max(ah, draw(st.integers(1, 2))), aw
    lead = () if b is None else (b,)
    x = data(draw, lead + (c, h, w), draw(DTYPES))
    acts = data(draw, lead + (k, ah, aw), draw(DTYPES))
    out_dim = draw(st.integers(1, 6))
    targets = draw(st.one_of(st.integers(0, out_dim - 1), st.lists(st.integers(0, out_dim - 1), min_size=1, max_size=3),
                             st.integers(-2, 8), st.lists(st.integers(-1, 7), max_size=3), st.just("callable"),
                             st.sampled_from(["callable_raises", "callable_bad", 2**64 - 1, 1.5])))
    return dict(x=x, acts=acts, out_dim=out_dim, targets=targets, params=draw(PARAMS),
                forward=draw(st.sampled_from(FORWARD_KINDS)), preset=draw(st.sampled_from(
                    ["seed", "gradcam", "torchcam", "paper"] * 3 + ["nope"])), output_dim=draw(st.sampled_from(
                    [None] * 6 + [out_dim] * 3 + [out_dim + 1, 0, 2**62])))


def resolve_targets(targets, out_dim):
    if targets == "callable":
        return lambda outputs: np.asarray(outputs)[:, :2]
    if targets == "callable_raises":
        def raising(outputs):
            raise Boom("score")
        return raising
    if targets == "callable_bad":
        return lambda outputs: "not scores"
    return targets


def make_explainer(case):
    return scorecam.Explainer(make_forward(case["forward"], case["out_dim"]), preset=case["preset"],
                              output_dim=case["output_dim"], progress=False, **case["params"])


@SETTINGS
@given(cases())
def test_explain_returns_or_raises_cleanly(case):
    try:
        with make_explainer(case) as explainer:
            maps = explainer.explain(case["x"], case["acts"], resolve_targets(case["targets"], case["out_dim"]))
            assert maps.dtype == np.float32 and np.isfinite(maps).all()
            details = explainer.details(0)
            assert np.isfinite(details.weights).all()
    except CLEAN:
        pass


@SETTINGS
@given(cases(), st.sampled_from(["average_drop", "increase_in_confidence", "insertion", "deletion", "bogus"]),
       st.integers(1, 8), st.integers(1, 8), DTYPES)
def test_evaluate_returns_or_raises_cleanly(case, metric, map_h, map_w, dtype):
    x = case["x"]
    lead = x.shape[:1] if x.ndim == 4 else ()
    targets = resolve_targets(case["targets"], case["out_dim"])
    count = len(targets) if isinstance(targets, list) else 1
    maps = np.random.default_rng(map_h * 7 + map_w).random(lead + (count, map_h, map_w)).astype(dtype)
    try:
        with make_explainer(case) as explainer:
            values = explainer.evaluate(x, maps, targets, metric)
            assert not np.isnan(np.asarray(values)).any()
    except CLEAN:
        pass


@SETTINGS
@given(cases(), st.one_of(st.none(), st.lists(st.one_of(st.integers(-2, 8), st.floats(-2, 8)), max_size=4),
                          st.just([2**64 - 1]), st.just([[0, 1]])),
       st.tuples(st.integers(-1, 12), st.integers(-1, 12)), st.booleans())
def test_masks_return_or_raise_cleanly(case, channels, size, with_x):
    acts = case["acts"] if case["acts"].ndim == 3 else case["acts"][0]
    x = None
    if with_x:
        x = case["x"] if case["x"].ndim == 3 else case["x"][0]
        size = x.shape[1:]
    try:
        with make_explainer(case) as explainer:
            masks = explainer.masks(acts, size, channels=channels, x=x)
            assert np.isfinite(masks).all()
    except CLEAN:
        pass
