"""The Draw page under AppTest: a sample drawing stands in for the browser canvas."""

import io
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnviz.data.preprocess import canvas_to_mnist
from cnnviz.data.upload import photo_ink
from cnnviz.nn import lenet
from tests import keras_uploads

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "draw.py")
TIMEOUT = 60


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "lenet.npz"
    lenet.save_params(path, lenet.init_params(seed=3), {"backend": "numpy"})
    return path


@pytest.fixture
def pretrained(monkeypatch, model_path):
    monkeypatch.setenv("CNNVIZ_DRAW_MODEL", str(model_path))
    return model_path


def drawing() -> np.ndarray:
    """A canvas-like RGBA (280, 280, 4) uint8: an MNIST-style '1' drawn large and off-centre."""
    stroke = np.zeros((28, 28), dtype=np.uint8)
    stroke[4:24, 12:16] = 255
    big = np.asarray(Image.fromarray(stroke).resize((150, 150), Image.Resampling.BILINEAR))
    rgba = np.zeros((280, 280, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[20:170, 110:260, :3] = big[..., None]
    return rgba


def fake_canvas(monkeypatch, image: np.ndarray | None) -> None:
    """Replace the browser canvas component by one whose result holds `image` as RGBA pixels.

    The real component only registers inside a running Streamlit server, so the whole module is
    swapped in sys.modules (the page imports it on every run).
    """
    result = types.SimpleNamespace(image_data=image, json_data=None)
    module = types.ModuleType("streamlit_drawable_canvas")
    module.st_canvas = lambda **kwargs: result
    monkeypatch.setitem(sys.modules, "streamlit_drawable_canvas", module)


def run_page(**session) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    for key, value in session.items():
        at.session_state[key] = value
    return at.run()


def texts(at: AppTest, element: str) -> list[str]:
    return [item.value for item in getattr(at, element)]


def test_draw_page_reads_a_drawing_like_the_library(monkeypatch, pretrained):
    fake_canvas(monkeypatch, drawing())
    at = run_page()
    assert not at.exception
    params, _ = lenet.load_params(pretrained)
    probs, _ = lenet.forward(params, canvas_to_mnist(drawing())[None, :, :, None])
    top = int(probs[0].argmax())
    assert any(f"reads: {top} ({probs[0, top]:.0%})" in text for text in texts(at, "subheader"))
    assert [tab.label for tab in at.tabs] == [
        "conv1",
        "pool1",
        "conv2",
        "pool2",
        "dense",
        "saliency",
    ]
    # only the open tab draws
    assert chart_keys(at) == ["draw_steps", "draw_probs", "draw_layer_conv1"]
    for tab in ("pool2", "dense", "saliency"):
        at.session_state["draw_layer"] = tab
        shown = "draw_saliency" if tab == "saliency" else f"draw_layer_{tab}"
        assert chart_keys(at.run()) == ["draw_steps", "draw_probs", shown]


def chart_keys(at: AppTest) -> list[str]:
    return [chart.key for chart in at.get("plotly_chart")]


FRESH_PROCESS_DRAWS = """
import sys, types
from streamlit.testing.v1 import AppTest
from test_draw_page import PAGE, TIMEOUT, drawing
canvas = types.ModuleType("streamlit_drawable_canvas")
canvas.st_canvas = lambda **kwargs: types.SimpleNamespace(image_data=drawing(), json_data=None)
sys.modules["streamlit_drawable_canvas"] = canvas
at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
assert not at.exception and at.subheader[0].value.startswith("The network reads"), at
print(sorted({name.split(".")[0] for name in sys.modules} & {"tensorflow", "keras"}))
"""


def test_draw_page_reads_a_drawing_with_the_shipped_model_without_tensorflow():
    env = {name: value for name, value in os.environ.items() if name != "CNNVIZ_DRAW_MODEL"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests")])
    run = subprocess.run([sys.executable, "-c", FRESH_PROCESS_DRAWS], check=False, env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=5 * TIMEOUT)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.splitlines()[-1] == "[]"  # neither tensorflow nor keras was imported


def test_draw_page_empty_canvas_says_nothing_drawn(monkeypatch, pretrained):
    fake_canvas(monkeypatch, np.zeros((280, 280, 4), dtype=np.uint8))
    at = run_page()
    assert not at.exception
    assert any("Nothing drawn" in text for text in texts(at, "info"))
    assert not at.subheader and not at.get("plotly_chart")


def test_draw_page_before_any_stroke_says_nothing_drawn(monkeypatch, pretrained):
    fake_canvas(monkeypatch, None)  # the canvas sends no image until the first stroke
    at = run_page()
    assert not at.exception
    assert any("Nothing drawn" in text for text in texts(at, "info"))


def test_draw_page_mnist_sample_goes_through_the_same_views(monkeypatch, pretrained):
    fake_canvas(monkeypatch, None)
    at = run_page()
    at.radio(key="draw_source").set_value("MNIST sample").run()
    assert not at.exception
    assert any("True label" in text for text in texts(at, "caption"))
    assert any(text.startswith("The network reads") for text in texts(at, "subheader"))
    # no preprocessing: MNIST is preprocessed
    assert chart_keys(at) == ["draw_probs", "draw_layer_conv1"]
    at.number_input(key="draw_sample_index").set_value(5).run()
    assert not at.exception


@pytest.mark.parametrize(
    "content, message", [(None, "does not exist"), (b"not a zip file", "not a readable")]
)
def test_draw_page_bad_model_file_shows_error_and_stays_usable(
    monkeypatch, tmp_path, content, message
):
    path = tmp_path / "lenet.npz"
    if content is not None:
        path.write_bytes(content)
    monkeypatch.setenv("CNNVIZ_DRAW_MODEL", str(path))
    fake_canvas(monkeypatch, drawing())
    at = run_page()
    assert not at.exception
    errors = texts(at, "error")
    assert len(errors) == 1 and message in errors[0] and "could not be loaded" in errors[0]
    assert len(at.get("plotly_chart")) == 1  # the preprocessing steps still show
    assert not at.subheader


def test_draw_page_offers_the_model_trained_in_this_session(monkeypatch, tmp_path, pretrained):
    session_model = tmp_path / "session.npz"
    lenet.save_params(session_model, lenet.init_params(seed=4), {"backend": "tf1"})
    fake_canvas(monkeypatch, drawing())
    at = run_page(trained_model_path=str(session_model))
    model_radio = at.radio(key="draw_model")
    assert model_radio.options == ["Pretrained LeNet-5", "Trained in this session",
                                   "Your Keras model"]
    model_radio.set_value("Trained in this session").run()
    assert not at.exception
    assert any("session.npz" in text and "tf1" in text for text in texts(at, "caption"))
    params, _ = lenet.load_params(session_model)
    top = int(lenet.forward(params, canvas_to_mnist(drawing())[None, :, :, None])[0].argmax())
    assert any(f"reads: {top} " in text for text in texts(at, "subheader"))


def photo_bytes() -> tuple[bytes, np.ndarray]:
    """A JPEG of a dark '1' on light paper, and its decoded pixels."""
    paper = np.full((120, 90), 220, dtype=np.uint8)
    paper[15:105, 40:52] = 35
    buffer = io.BytesIO()
    Image.fromarray(paper).save(buffer, "PNG")
    return buffer.getvalue(), paper


def test_draw_page_reads_an_uploaded_photo(monkeypatch, pretrained):
    fake_canvas(monkeypatch, None)
    at = run_page()
    at.radio(key="draw_source").set_value("Upload a photo").run()
    data, paper = photo_bytes()
    at.file_uploader(key="draw_upload").upload("one.png", data, "image/png").run()
    assert not at.exception
    params, _ = lenet.load_params(pretrained)
    x = canvas_to_mnist(photo_ink(paper))[None, :, :, None]
    top = int(lenet.forward(params, x)[0].argmax())
    assert any(f"reads: {top} " in text for text in texts(at, "subheader"))
    assert chart_keys(at) == ["draw_steps", "draw_probs", "draw_layer_conv1"]


def test_draw_page_rejects_a_corrupt_upload_clearly(monkeypatch, pretrained):
    fake_canvas(monkeypatch, None)
    at = run_page()
    at.radio(key="draw_source").set_value("Upload a photo").run()
    at.file_uploader(key="draw_upload").upload("one.png", b"%PDF-1.4 a report", "image/png").run()
    assert not at.exception
    assert any("not an image" in text for text in texts(at, "error"))
    assert not at.subheader


# --- your own Keras model ----------------------------------------------------------------------


def upload_model(at: AppTest, name: str, data: bytes) -> AppTest:
    at.radio(key="draw_model").set_value("Your Keras model").run()
    return at.file_uploader(key="draw_model_upload").upload(
        name, data, "application/octet-stream").run()


@pytest.mark.tf
@pytest.mark.parametrize("name", list(keras_uploads.GOOD))
def test_draw_page_reads_with_an_uploaded_model(monkeypatch, pretrained, name):
    fake_canvas(monkeypatch, drawing())
    at = upload_model(run_page(), f"{name}.keras", keras_uploads.GOOD[name]())
    assert not at.exception and not at.error
    uploaded = at.session_state["draw_uploaded_model"][1]
    outputs, layers = uploaded.read(canvas_to_mnist(drawing()))
    top = int(np.argmax(outputs))
    if name == "no softmax":
        assert any("not a softmax over 10 classes" in text for text in texts(at, "info"))
        assert any(f"Largest output: unit {top}" in text for text in texts(at, "subheader"))
    else:
        assert any(f"reads: {top} ({outputs[top]:.0%})" in text for text in texts(at, "subheader"))
    assert [tab.label for tab in at.tabs] == [layer.name for layer in layers] + ["saliency"]
    drawn = [layer for layer in layers if layer.values.ndim in (1, 2, 3)]
    keys = chart_keys(at)  # the steps, the outputs, and the first layer's tab (the open one)
    assert len(keys) == 3 and keys[-1] == f"draw_layer_{layers[0].name}"
    at.session_state["draw_layer"] = drawn[-1].name
    assert chart_keys(at.run())[-1] == f"draw_layer_{drawn[-1].name}"
    assert any(f"{name}.keras" in text and "this browser session only" in text
               for text in texts(at, "caption"))


@pytest.mark.tf
@pytest.mark.parametrize("name", list(keras_uploads.BAD))
def test_draw_page_refuses_a_bad_model_and_stays_usable(monkeypatch, pretrained, name):
    build, words = keras_uploads.BAD[name]
    fake_canvas(monkeypatch, drawing())
    at = upload_model(run_page(), "model.keras", build())
    assert not at.exception
    errors = texts(at, "error")
    assert len(errors) == 1 and words in errors[0] and errors[0].startswith("model.keras: ")
    assert len(at.get("plotly_chart")) == 1 and not at.subheader  # the preprocessing still shows
    at.radio(key="draw_model").set_value("Pretrained LeNet-5").run()
    assert not at.exception and not at.error
    assert any(text.startswith("The network reads") for text in texts(at, "subheader"))


@pytest.mark.tf
def test_draw_page_drops_the_model_with_its_file(monkeypatch, pretrained):
    fake_canvas(monkeypatch, drawing())
    at = upload_model(run_page(), "good.keras", keras_uploads.logits_only())
    assert any(text.startswith("Largest output") for text in texts(at, "subheader"))
    at.file_uploader(key="draw_model_upload").clear().run()
    assert not at.exception and "draw_uploaded_model" not in at.session_state
    assert any("Upload a model saved with" in text for text in texts(at, "info"))
    assert not at.subheader
    at = upload_model(at, "bad.keras", keras_uploads.truncated())
    assert any("truncated" in text for text in texts(at, "error")) and not at.subheader


def test_draw_page_opens_without_tensorflow():
    code = (
        "import sys; from streamlit.testing.v1 import AppTest; "
        f"at = AppTest.from_file({PAGE!r}, default_timeout=60).run(); "
        "assert not at.exception, at.exception; "
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, env={**os.environ, "CNNVIZ_DRAW_MODEL": "missing.npz"})
    assert result.stdout.strip().splitlines()[-1] == "[]"
