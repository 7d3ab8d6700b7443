"""Security rules checked on the source: no HTML from user content, uploads capped, Keras files
loaded in safe mode, no pickles, no file path typed by the user."""

import ast
import importlib
import re
import tomllib

from benchmarks import browser
from cnnviz.data import upload
from cnnviz.readers import keras_model

ROOT = browser.ROOT
APP_SOURCES = [ROOT / "app.py", *sorted((ROOT / "app_pages").glob("*.py"))]
LIBRARY_SOURCES = sorted((ROOT / "cnnviz").rglob("*.py"))


def calls(path):
    """(function name, ast.Call) of every call in the file at path."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call):
            function = node.func
            yield getattr(function, "attr", getattr(function, "id", "")), node


def owner(call: ast.Call) -> str:
    """"np" for np.load(...): the name the called attribute hangs on ("" if none)."""
    return getattr(getattr(call.func, "value", None), "id", "")


def keyword(call: ast.Call, name: str):
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def test_unsafe_html_only_on_constant_strings():
    for path in [*APP_SOURCES, *sorted((ROOT / "cnnviz" / "ui").glob("*.py"))]:
        for name, call in calls(path):
            flag = keyword(call, "unsafe_allow_html")
            if isinstance(flag, ast.Constant) and flag.value is False or flag is None:
                continue
            assert call.args and isinstance(call.args[0], ast.Constant), (
                f"{path.name}:{call.lineno}: {name}(..., unsafe_allow_html=...) "
                "on a non-constant string")


def test_upload_size_capped_and_no_telemetry():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    cap_bytes = config["server"]["maxUploadSize"] * 2**20
    assert cap_bytes <= 20 * 2**20  # the largest upload: a Keras model on the Draw page
    assert cap_bytes >= keras_model.MODEL_MAX_BYTES >= upload.PHOTO_MAX_BYTES  # limits reachable
    assert config["browser"]["gatherUsageStats"] is False


def test_config_comments_name_constants_that_exist():
    """The config's comments name the limits in code; renaming one must not leave them stale."""
    text = (ROOT / ".streamlit" / "config.toml").read_text()
    named = re.findall(r"\b(cnnviz(?:\.\w+)+)\.([A-Z][A-Z_]+)\b", text)
    assert named
    for module, constant in named:
        assert hasattr(importlib.import_module(module), constant), f"{module}.{constant}"


def test_every_file_uploader_states_its_own_cap():
    """The server allows 20 MB for models; each image uploader keeps its smaller cap."""
    for path in [*APP_SOURCES, *sorted((ROOT / "cnnviz" / "ui").glob("*.py"))]:
        for name, call in calls(path):
            if name == "file_uploader":
                assert keyword(call, "max_upload_size") is not None, f"{path.name}:{call.lineno}"


NOT_IMAGES = {"['keras']", "['py']"}  # the Draw page's model, the Check page's solution
# Free text the pages take, each reviewed: what it is and why it is never used as a path.
REVIEWED_TEXT = {"check.py": "a pasted solution: graded in the sandbox, named solution.py"}


def test_every_image_uploader_takes_the_formats_the_decoder_reads():
    """One list of image formats (upload.EXTENSIONS): no uploader offers fewer than are decoded."""
    assert {"png", "jpeg", "jpg", "webp"} <= set(upload.EXTENSIONS)
    image_uploaders = 0
    for path in [*APP_SOURCES, *sorted((ROOT / "cnnviz" / "ui").glob("*.py"))]:
        for name, call in calls(path):
            types = keyword(call, "type")
            if name != "file_uploader" or ast.unparse(types) in NOT_IMAGES:
                continue
            image_uploaders += 1
            assert "EXTENSIONS" in ast.unparse(types), f"{path.name}:{call.lineno}"
    assert image_uploaders >= 2  # the Draw page's photo and the explorer's picture


def test_keras_files_loaded_in_safe_mode_and_no_pickles():
    loads = 0
    for path in [*APP_SOURCES, *LIBRARY_SOURCES]:
        for name, call in calls(path):
            if name == "load_model" and isinstance(call.func, ast.Attribute):  # keras.*.load_model
                loads += 1
                safe = keyword(call, "safe_mode")
                assert isinstance(safe, ast.Constant) and safe.value is True, (
                    f"{path.name}:{call.lineno}")
            if name == "load" and owner(call) == "np":
                pickle = keyword(call, "allow_pickle")
                assert isinstance(pickle, ast.Constant) and pickle.value is False, (
                    f"{path.name}:{call.lineno}")
            assert owner(call) != "pickle", f"{path.name}:{call.lineno}: pickle"
    assert loads >= 1  # the check saw the Keras loader


def test_pages_take_no_typed_text_as_a_path():
    for path in APP_SOURCES:
        typed = [call.lineno for name, call in calls(path)
                 if name in ("text_input", "text_area", "chat_input")]
        if path.name in REVIEWED_TEXT:
            assert typed, f"{path.name} takes no free text any more: drop it from REVIEWED_TEXT"
            continue
        assert typed == [], (
            f"{path.name}: free text input at lines {typed}; review it for paths first")
