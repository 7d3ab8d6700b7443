"""The scrub component's JavaScript (cnnviz/ui/scrub/assets/conv.js) against cnnviz.nn.ops.

One source of truth: the browser redraws the forward pass while the student scrubs, the server
computes everything else from NumPy, and the two must agree. conv.js runs in Debian's chromium on
a few hundred seeded random cases (shapes, kernels, paddings, strides, modes, ties, activations);
each result is compared with cnnviz.nn.ops (and the step-through with cnnviz.nn.explain) in
float32 to float32 tolerance, and a kernel too large for its input must be refused by both.
"""


import numpy as np
import pytest

from cnnviz.nn import explain, ops
from cnnviz.ui.scrub import ASSETS
from tests import installed

pytestmark = pytest.mark.browser

CASES = 300  # of each kind: conv, pool
PADDINGS = ["valid", "same", (0, 0), (1, 2), (2, 1), (3, 3)]
# float32 sums of up to 49 products: a few units in the last place of the sum of |x * w|
RTOL = 1e-5

LOAD_JS = """async (source) => {
    const url = "data:text/javascript;charset=utf-8," + encodeURIComponent(source);
    window.conv = await import(url);
}"""
# Every case in one call: [result] or [null, message] when conv.js refuses the case.
CONV_JS = """(cases) => cases.map((c) => {
    const image = conv.makeMap(c.image), kernels = c.kernels.map(conv.makeMap);
    try {
        const out = conv.conv2d(image, kernels, c.biases, c.activation, c.padding, c.stride);
        const [i, j, f] = [Math.floor(out.h / 2), Math.floor(out.w / 2), kernels.length - 1];
        const step = conv.convStep(image, kernels[f], c.biases[f], c.activation, out.pads,
                                   c.stride, i, j);
        return [{h: out.h, w: out.w, maps: out.maps.map((m) => Array.from(m)), step, i, j, f}];
    } catch (error) {
        return [null, error.message];
    }
})"""
POOL_JS = """(cases) => cases.map((c) => {
    const image = conv.makeMap(c.image);
    try {
        const out = conv.pool2d(image, c.window, c.stride, c.mode);
        const [i, j] = [out.h - 1, 0];
        const step = conv.poolStep(image, c.window, c.stride, c.mode, i, j);
        return [{h: out.h, w: out.w, data: Array.from(out.data), step, i, j}];
    } catch (error) {
        return [null, error.message];
    }
})"""


@pytest.fixture(scope="module")
def conv_js():
    """A chromium page with conv.js loaded as window.conv (skipped without chromium, except in
    CI, which installs it: scripts/system-deps.sh)."""
    from playwright.sync_api import sync_playwright

    from benchmarks import browser

    installed.need(browser.CHROMIUM.exists(), "chromium", str(browser.CHROMIUM))
    with sync_playwright() as playwright:
        chromium = browser.launch_chromium(playwright)
        page = chromium.new_page()
        page.goto("about:blank")
        page.evaluate(LOAD_JS, (ASSETS / "conv.js").read_text())
        yield page
        chromium.close()


def _values(rng, shape, ties: bool) -> np.ndarray:
    """float32 values; with ties, small integers, so windows often hold equal maxima."""
    if ties:
        return rng.integers(-2, 3, size=shape).astype(np.float32)
    return (rng.standard_normal(shape) * rng.choice([0.1, 1, 30])).astype(np.float32)


def _conv_case(rng) -> dict:
    h, w = (28, 28) if rng.random() < 0.1 else tuple(int(v) for v in rng.integers(1, 13, size=2))
    kh, kw = (int(v) for v in rng.integers(1, 8, size=2))
    if rng.random() < 0.5:
        kw = kh  # the page's kernels are square; ops takes any shape
    filters = int(rng.integers(1, 7))
    ties = bool(rng.random() < 0.3)
    padding = PADDINGS[rng.integers(len(PADDINGS))]
    return {
        "image": _values(rng, (h, w), ties).tolist(),
        "kernels": [_values(rng, (kh, kw), ties).tolist() for _ in range(filters)],
        "biases": _values(rng, (filters,), ties).tolist(),
        "activation": str(rng.choice(list(ops.ACTIVATIONS))),
        "padding": padding if isinstance(padding, str) else list(padding),
        "stride": [int(v) for v in rng.integers(1, 5, size=2)],
    }


def _pool_case(rng) -> dict:
    h, w = (28, 28) if rng.random() < 0.1 else tuple(int(v) for v in rng.integers(1, 13, size=2))
    return {
        "image": _values(rng, (h, w), bool(rng.random() < 0.5)).tolist(),
        "window": [int(v) for v in rng.integers(1, 6, size=2)],
        "stride": [int(v) for v in rng.integers(1, 5, size=2)],
        "mode": str(rng.choice(["max", "avg"])),
    }


def _numpy_conv(case: dict):
    """(A (h_new, w_new, c_new), W, b, padding) of cnnviz.nn.ops in float32."""
    image = np.asarray(case["image"], np.float32)[None, :, :, None]
    W = np.stack([np.asarray(k, np.float32) for k in case["kernels"]], axis=-1)[:, :, None, :]
    b = np.asarray(case["biases"], np.float32).reshape(1, 1, 1, -1)
    padding = case["padding"] if isinstance(case["padding"], str) else tuple(case["padding"])
    with np.errstate(over="ignore"):  # sigmoid of a large negative z: exp overflows to 0 output
        A = ops.conv_forward(image, W, b, case["activation"], padding, tuple(case["stride"]))
    return A[0], image[0], W, b, padding


def test_conv_js_matches_ops(conv_js):
    rng = np.random.default_rng(23)
    cases = [_conv_case(rng) for _ in range(CASES)]
    results = conv_js.evaluate(CONV_JS, cases)
    refused = 0
    for n, (case, result) in enumerate(zip(cases, results)):
        try:
            A, image, W, b, padding = _numpy_conv(case)
        except ValueError as error:
            assert result[0] is None, f"case {n}: ops refused ({error}) but conv.js drew a map"
            assert "larger than the padded input" in result[1]
            refused += 1
            continue
        assert result[0] is not None, f"case {n}: conv.js refused a valid case: {result[1]}"
        out = result[0]
        js = np.stack([np.reshape(m, (out["h"], out["w"])) for m in out["maps"]], axis=-1)
        assert js.shape == A.shape, f"case {n}: output shape"
        scale = np.abs(W).sum(axis=(0, 1, 2)) * np.abs(image).max() + np.abs(b).ravel() + 1
        np.testing.assert_allclose(js, A, rtol=RTOL, atol=RTOL * scale.max(), err_msg=f"case {n}")
        _check_conv_step(case, out, image, W, b, padding, n)
    assert 0 < refused < CASES // 2  # both kinds of case were drawn


def _check_conv_step(case, out, image, W, b, padding, n) -> None:
    stride = tuple(case["stride"])
    pads = ops.resolve_padding(padding, image.shape[:2], W.shape[:2], stride)
    i, j, f = out["i"], out["j"], out["f"]
    with np.errstate(over="ignore"):
        step = explain.conv_step(image, W, b, pads, stride, case["activation"], i, j, f)
    js = out["step"]
    assert (js["top"], js["left"]) == (step.top, step.left), f"case {n}: window corner"
    np.testing.assert_array_equal(js["inputs"], step.window.ravel(), err_msg=f"case {n}")
    np.testing.assert_allclose(js["products"], step.product.ravel(), rtol=1e-6, atol=1e-30)
    tolerance = RTOL * float(np.abs(step.product).sum() + abs(step.bias) + 1)
    for name, expected in (("sum", step.total), ("z", step.z), ("a", step.a)):
        assert js[name] == pytest.approx(expected, abs=tolerance), f"case {n}: step {name}"


def test_pool_js_matches_ops(conv_js):
    rng = np.random.default_rng(13)
    cases = [_pool_case(rng) for _ in range(CASES)]
    results = conv_js.evaluate(POOL_JS, cases)
    refused = 0
    for n, (case, result) in enumerate(zip(cases, results)):
        image = np.asarray(case["image"], np.float32)
        try:
            A = ops.pool_forward(image[None, :, :, None], tuple(case["window"]),
                                 tuple(case["stride"]), case["mode"])[0, :, :, 0]
        except ValueError:
            assert result[0] is None, f"case {n}: ops refused but conv.js pooled"
            refused += 1
            continue
        assert result[0] is not None, f"case {n}: conv.js refused a valid case: {result[1]}"
        out = result[0]
        js = np.reshape(out["data"], (out["h"], out["w"]))
        assert js.shape == A.shape, f"case {n}: output shape"
        if case["mode"] == "max":  # a maximum is one of the inputs: exact
            np.testing.assert_array_equal(js, A, err_msg=f"case {n}")
        else:
            np.testing.assert_allclose(js, A, rtol=RTOL, atol=RTOL * np.abs(image).max() + 1e-30)
        step = explain.pool_step(image[:, :, None], tuple(case["window"]), tuple(case["stride"]),
                                 case["mode"], out["i"], out["j"], 0)
        assert (out["step"]["top"], out["step"]["left"]) == (step.top, step.left)
        assert out["step"]["winners"] == step.winners.ravel().tolist(), f"case {n}: tied maxima"
        assert out["step"]["value"] == pytest.approx(step.value, rel=RTOL, abs=1e-30)
    assert 0 < refused < CASES // 2


def test_conv_js_same_padding_is_tensorflow_rule(conv_js):
    """TensorFlow's "same": the odd extra row and column go at the bottom and right."""
    pads = conv_js.evaluate("() => conv.resolvePadding('same', [28, 27], [4, 4], [1, 2])")
    assert pads == [list(p) for p in ops.resolve_padding("same", (28, 27), (4, 4), (1, 2))]
    assert pads == [[1, 2], [1, 2]]


def test_paint_js_colours_values_as_plotlys_named_scale(conv_js):
    """paint.js colours the maps' canvas itself: its scale must be Plotly.js's, value for value
    (the stops, the ends beyond zmin and zmax, values on a stop), to one unit of rounding."""
    from tests.plotly_colours import plotly_colours

    conv_js.evaluate(LOAD_JS.replace("window.conv", "window.paint"),
                     (ASSETS / "paint.js").read_text())
    rng = np.random.default_rng(5)
    for zmin, zmax in ((-1.0, 1.0), (-37.5, 37.5), (-1e-6, 1e-6)):
        stops = np.array([0, 0.35, 0.5, 0.6, 0.7, 1]) * (zmax - zmin) + zmin
        values = np.concatenate([rng.uniform(1.5 * zmin, 1.5 * zmax, 500), stops])
        js = conv_js.evaluate("([values, zmin, zmax]) => { const colour = paint.colorScale("
                              "'RdBu', zmin, zmax); return values.map(colour); }",
                              [values.tolist(), zmin, zmax])
        expected = plotly_colours(values, "RdBu", zmin, zmax)
        assert np.abs(np.array(js) - expected).max() <= 1, (zmin, zmax)
