"""The explorer's pages run headless (streamlit.testing AppTest) through their main controls."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from benchmarks import scrubbing
from cnnviz import ui
from cnnviz.data import datasets as data
from cnnviz.nn import dense, explain, gradcheck, kernels

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60


def page(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / f"{name}.py"), default_timeout=TIMEOUT)
    return at.run()


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.message for e in at.exception]
    return at


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def size_formula(at: AppTest) -> str:
    """The Convolution or Pooling page's output-size formula: one line of inline code per axis."""
    shown = next(m.value for m in at.markdown if m.value.startswith("`h_new"))
    return "\n".join(line.strip("` ") for line in shown.splitlines())


def step_tables(at: AppTest) -> str:
    """The HTML of the Convolution page's step-through grids (window, kernel, product)."""
    return next(element.proto.body for element in at.get("html"))


def test_home_lists_pages_and_the_loaded_dataset():
    at = ok(page("home"))
    text = " ".join(m.value for m in at.markdown)
    assert "Convolution" in text and "Backpropagation" in text
    assert "mnist" in text and "training" in text


def test_app_lists_pages_in_order_and_runs_home():
    at = ok(AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run())
    assert at.title[0].value == "cnnviz"
    source = (ROOT / "app.py").read_text()
    order = ["home", "data", "convolution", "pooling", "backprop", "dense", "architectures",
             "training", "draw"]
    assert [source.index(f"app_pages/{name}.py") for name in order] == sorted(
        source.index(f"app_pages/{name}.py") for name in order
    )


def test_convolution_runs_every_preset():
    at = ok(page("convolution"))
    offered = scrubbing.shown(at)["presets"]
    assert set(offered) == set(ui.available_presets(3))
    for preset in offered:  # a pick in the component: its kernel and name come back settled
        scrubbing.settle_kernel(at, 0, offered[preset], preset)
        ok(at)
        assert not errors(at)
        assert np.array_equal(at.session_state["kernel_0"], offered[preset])
        assert at.session_state["preset_0"] == preset and at.query_params["preset_0"] == preset
        if preset != "random He-normal":
            assert np.array_equal(offered[preset], kernels.preset_kernel(preset))
        assert scrubbing.shown(at)["settings"]["presets"] == [preset]  # not "(edited)"


@pytest.mark.parametrize(
    "padding, expected_hw", [("valid", (26, 26)), ("same", (28, 28)), ("explicit", (30, 30))]
)
def test_convolution_every_padding_kind_sets_the_output_size(padding, expected_hw):
    at = ok(page("convolution"))
    scrubbing.settle(at, padding=padding, pad=[2, 1])
    ok(at)
    formula = size_formula(at)
    assert formula.splitlines()[0].endswith(f"= {expected_hw[0]}")
    assert at.query_params["padding"] == padding
    assert scrubbing.shown(at)["settings"]["padding"] == padding  # the component keeps it


def test_convolution_stride_floor_warning_counts_unvisited_rows():
    at = ok(page("convolution"))
    scrubbing.settle(at, stride=[3, 2])
    ok(at)
    warning = at.warning[0].value
    assert (
        "1 row(s)" in warning and "1 column(s)" in warning
    )  # (28 - 3) // 3 * 3 + 3 = 27 rows reached
    assert at.query_params["stride_h"] == "3" and at.query_params["stride_w"] == "2"


def test_convolution_six_filters_kernel_sizes_and_activations():
    at = ok(page("convolution"))
    at.slider(key="_w_filters").set_value(6).run()
    for size in (1, 5, 7, 2):
        at.select_slider(key="_w_ksize").set_value(size).run()
        ok(at)
        assert all(at.session_state[f"kernel_{f}"].shape == (size, size) for f in range(6))
        assert np.array(scrubbing.shown(at)["settings"]["kernels"]).shape == (6, size, size)
    for activation in ("relu", "sigmoid", "tanh", "none"):
        scrubbing.settle(at, activation=activation)
        ok(at)
        assert any(f"a = {activation}(z)" in m.value for m in at.markdown)


def test_convolution_step_through_matches_a_position():
    at = ok(page("convolution"))
    scrubbing.settle(at, position=[10, 12, 0])
    ok(at)
    assert any(m.value.startswith("Output (10, 12) of filter 1") for m in at.markdown)
    window, kernel, product = (re.findall(r">(-?[\d.e+-]+)</td>", table)
                               for table in step_tables(at).split("<table")[1:])
    assert "window ⊙ kernel" in step_tables(at) and len(window) == len(kernel) == 9
    total = next(m.value for m in at.markdown if m.value.startswith("Output (10, 12)"))
    total = float(re.search(r"= \*\*(-?[\d.e+-]+)\*\*", total).group(1))  # Σ window ⊙ kernel
    assert sum(map(float, product)) == pytest.approx(total, rel=0.01, abs=0.01)
    at.slider(key="_w_filters").set_value(2).run()
    scrubbing.settle(at, position=[10, 12, 1])
    ok(at)
    assert any(m.value.startswith("Output (10, 12) of filter 2") for m in at.markdown)
    scrubbing.settle(at, position=[99, -4, 7])  # moved inside the output, not refused
    assert any(m.value.startswith("Output (25, 0) of filter 2") for m in at.markdown)


@pytest.mark.parametrize(
    "points, expected",
    [
        ([{"curve_number": 3, "x": 4, "y": 6, "customdata": {"0": 0.5, "1": 1}}], (6, 4, 1)),
        ([{"curve_number": 1, "x": 0, "y": 2, "customdata": [0.5, 0]}], (2, 0, 0)),
        ([{"curve_number": 0, "x": 1, "y": 1}], None),  # not a click target
        ([], None),
    ],
)
def test_clicked_cell_reads_the_click_target(points, expected):
    assert ui.clicked_cell(points) == expected


@pytest.mark.parametrize("bad", ["", "abc", "nan", "inf", None])
def test_convolution_kernel_refuses_bad_cells_and_keeps_the_last_good_kernel(bad):
    at = ok(page("convolution"))
    edited = (kernels.preset_kernel("Sobel left") * [[7], [1], [1]]).tolist()
    ok(scrubbing.settle_kernel(at, 0, edited, "Sobel left (edited)"))
    good = at.session_state["kernel_0"]
    assert good[0, 0] == 7 and not errors(at)
    assert scrubbing.shown(at)["settings"]["presets"] == ["Sobel left (edited)"]
    assert any("= **" in m.value for m in at.markdown)
    edited[2][2] = bad
    ok(scrubbing.settle_kernel(at, 0, edited, "Sobel left (edited)"))
    assert any("row 3, column 3" in e and "last good" in e for e in errors(at))
    assert np.array_equal(at.session_state["kernel_0"], good)
    assert scrubbing.shown(at)["settings"]["kernels"][0] == good.tolist()


def test_convolution_kernel_too_large_for_the_grid_shows_an_error_and_keeps_last_good_state():
    at = ok(page("convolution"))
    at.radio(key="_w_source").set_value("5x5 course grid").run()
    ok(at)
    at.select_slider(key="_w_ksize").set_value(7).run()
    ok(at)
    assert any("larger than the padded input" in e for e in errors(at))
    assert size_formula(at)  # the page still shows the last good layer
    assert np.array(scrubbing.shown(at)["settings"]["kernels"]).shape == (1, 3, 3)


def test_convolution_course_grid_gives_four_at_the_top_left():
    at = ok(page("convolution"))
    at.radio(key="_w_source").set_value("5x5 course grid").run()
    cross = [[1, 0, 1], [0, 1, 0], [1, 0, 1]]
    scrubbing.settle(at, kernels=[cross], presets=["Sobel left (edited)"], position=[0, 0, 0])
    ok(at)
    assert any("**4**" in m.value for m in at.markdown)


def test_convolution_reads_settings_from_the_url():
    at = AppTest.from_file(str(ROOT / "app_pages" / "convolution.py"), default_timeout=TIMEOUT)
    at.query_params.update({"padding": "same", "stride_h": "2", "filters": "3", "ksize": "bogus",
                            "preset_1": "sharpen", "bias": "0.5"})
    ok(at.run())
    settings = scrubbing.shown(at)["settings"]
    assert settings["padding"] == "same" and settings["stride"] == [2, 1]
    assert settings["bias"] == 0.5 and settings["presets"][1] == "sharpen"
    assert settings["kernels"][1] == kernels.preset_kernel("sharpen").tolist()
    assert at.slider(key="_w_filters").value == 3 and at.select_slider(key="_w_ksize").value == 3
    assert [w.value for w in at.warning] == [
        "The link's ksize=bogus is not a valid setting (allowed: 1, 2, 3, 4, 5, 6, 7); "
        "showing 3 instead."]
    assert "/ 2⌋" in size_formula(at)  # the rest of the page agrees with the link


def test_out_of_range_link_values_are_reset_with_a_warning_once():
    at = AppTest.from_file(str(ROOT / "app_pages" / "convolution.py"), default_timeout=TIMEOUT)
    at.query_params.update({"stride_h": "0", "padding": "diagonal", "bias": "nan"})
    ok(at.run())
    warnings = " ".join(w.value for w in at.warning)
    assert "stride_h=0 is not a valid setting (allowed: 1 to" in warnings
    assert "padding=diagonal is not a valid setting (allowed: valid, same, explicit)" in warnings
    assert "bias=nan is not a valid setting" in warnings
    settings = scrubbing.shown(at)["settings"]
    assert settings["stride"][0] == 1 and settings["padding"] == "valid" and settings["bias"] == 0
    scrubbing.settle(at, stride=[2, 1])
    assert not [w for w in at.warning if "link" in w.value]
    assert at.query_params["stride_h"] == "2"


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pooling_both_modes(mode):
    at = ok(page("pooling"))
    scrubbing.settle(at, "pool", mode=mode, window=[3, 2], stride=[3, 2])
    ok(at)
    text = " ".join(m.value for m in at.markdown)
    assert ("max of the window" in text) if mode == "max" else ("mean of the 3x2 window" in text)
    assert "1 row(s)" in at.warning[0].value  # (28 - 3) // 3 * 3 + 3 = 27
    assert size_formula(at).splitlines() == [  # the formula follows window and stride
        "h_new = ⌊(h_prev + pad_top + pad_bottom − kh) / sh⌋ + 1 = ⌊(28 + 0 + 0 − 3) / 3⌋ + 1 = 9",
        "w_new = ⌊(w_prev + pad_left + pad_right − kw) / sw⌋ + 1 = ⌊(28 + 0 + 0 − 2) / 2⌋ + 1 = 14"]
    assert at.query_params["pool_mode"] == mode and at.query_params["pool_kh"] == "3"


def test_pooling_window_larger_than_input_shows_error():
    at = ok(page("pooling"))
    at.radio(key="_w_source").set_value("5x5 course grid").run()
    scrubbing.settle(at, "pool", window=[6, 2])
    ok(at)
    assert any("larger than the padded input" in e for e in errors(at))
    assert scrubbing.shown(at, "pool")["settings"]["window"] == [2, 2]  # the last good window


def open_deep_dives(at: AppTest) -> AppTest:
    """Open the backprop page's full-convolution and gradient-check expanders (drawn only open)."""
    assert not at.metric and not at.dataframe  # closed: nothing computed yet
    at.session_state["bp_full"] = at.session_state["bp_check"] = True
    return ok(at.run())


@pytest.mark.parametrize("kind", explain.DZ_KINDS)
def test_backprop_each_dZ_choice(kind):
    at = open_deep_dives(ok(page("backprop")))
    at.radio(key="_w_dz").set_value(kind).run()
    ok(at)
    assert not errors(at)
    assert any("max |conv_backward − full convolution|" in m.label for m in at.metric)
    checks = at.dataframe[0].value  # the numerical gradient check of conv_backward
    assert len(checks) > 0 and checks[gradcheck.ERROR_LABEL].astype(float).max() < 1e-5


def test_backprop_stride_two_full_convolution_agrees_and_pool_dA_random():
    at = open_deep_dives(ok(page("backprop")))
    at.number_input(key="_w_stride_h").set_value(2).run()
    at.radio(key="_w_pool_dA").set_value("random").run()
    ok(at)
    assert float(at.metric[0].value) < 1e-9
    assert any("tied maximum" in m.value for m in at.markdown)


def test_backprop_learn_the_kernel_runs():
    at = ok(page("backprop"))
    at.slider(key="_w_learn_steps").set_value(10).run()
    at.button(key="learn").click().run()
    ok(at)
    losses, W, W_goal, goal = at.session_state["learned"]
    assert len(losses) == 11 and goal == "Sobel left" and losses[-1] < losses[0]
    assert W.shape == W_goal.shape == (3, 3, 1, 1)
    at.radio(key="_w_dz").set_value("random").run()  # any other change keeps the last run on show
    ok(at)
    assert any("The last run" in c.value for c in at.caption)


def test_settings_survive_page_switches():
    at = ok(AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run())
    at.switch_page("app_pages/convolution.py").run()
    scrubbing.settle(at, padding="same", stride=[2, 2])
    at.switch_page("app_pages/pooling.py").run()
    ok(at)
    at.switch_page("app_pages/backprop.py").run()
    ok(at)  # the Backpropagation page's widgets start from the component's settings
    assert at.radio(key="_w_padding").value == "same"
    assert at.number_input(key="_w_stride_h").value == 2
    at.radio(key="_w_padding").set_value("valid").run()
    at.switch_page("app_pages/convolution.py").run()
    ok(at)
    assert scrubbing.shown(at)["settings"]["padding"] == "valid"
    assert scrubbing.shown(at)["settings"]["stride"] == [2, 2]


def test_explorer_pages_do_not_import_tensorflow():
    script = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        "for name in ('home', 'data', 'convolution', 'pooling', 'backprop', 'dense',\n"
        "             'architectures'):\n"
        f"    at = AppTest.from_file('{ROOT}/app_pages/' + name + '.py', "
        f"default_timeout={TIMEOUT}).run()\n"
        "    assert not at.exception, name\n"
        "print('tensorflow' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_home_page_starts_without_pandas_or_the_emoji_table():
    """What a fresh server's first page imports is its cold start: pandas (the tables') and
    Streamlit's emoji table (an emoji page icon's) cost seconds on a busy server."""
    script = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        "from cnnviz import ui\n"
        "ui.WARM_UP_MODULES = ()  # the warm-up after the first page imports pandas on purpose\n"
        f"at = AppTest.from_file('{ROOT}/app.py', default_timeout={TIMEOUT}).run()\n"
        "assert not at.exception and at.title[0].value == 'cnnviz'\n"
        "print(sorted({'pandas', 'streamlit.emojis'} & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def colour_png() -> bytes:
    import io

    from PIL import Image

    pixels = np.zeros((40, 30, 3), np.uint8)
    pixels[10:30, 5:25, 0] = 255  # a red square
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["convolution", "pooling", "backprop"])
def test_uploaded_image_as_rgb_channels(name):
    at = AppTest.from_file(str(ROOT / "app_pages" / f"{name}.py"), default_timeout=TIMEOUT)
    for key, value in {
        "upload_bytes": colour_png(),
        "upload_id": "test",
        "upload_name": "red.png",
        "source": "upload",
        "channels": "RGB",
    }.items():
        at.session_state[key] = value
    ok(at.run())
    assert not errors(at)
    if name == "convolution":  # W reads the R, G and B channels: the maps are of their sum
        assert any("Σ over 3 channels" in m.value for m in at.markdown)
        shown = np.array(scrubbing.shown(at)["image"])
        pixels = at.session_state["last_good_conv"][0].pixels
        assert pixels.shape[2] == 3 and np.allclose(shown, pixels.sum(axis=2))
    if name == "pooling":  # one channel at a time, picked beside the component
        at.radio(key="pool_channel").set_value(0).run()
        red = at.session_state["last_good_pool"][0].pixels[:, :, 0]
        assert np.allclose(scrubbing.shown(at, "pool")["image"], red)


def test_upload_without_a_file_asks_for_one():
    at = ok(page("pooling"))
    at.radio(key="_w_source").set_value("upload").run()
    ok(at)
    assert any("Upload an image" in i.value for i in at.info)


@pytest.mark.tf
def test_convolution_check_against_tensorflow():
    at = ok(page("convolution"))
    scrubbing.settle(at, padding="same", stride=[2, 1], bias=0.5, activation="tanh")
    at.button(key="tf_check").click().run()
    ok(at)
    assert float(at.metric[0].value) < 1e-9


def test_upload_bad_file_shows_error_and_keeps_the_last_good_image():
    at = ok(page("convolution"))
    at.radio(key="_w_source").set_value("upload").run()
    at.file_uploader[0].set_value(("red.png", colour_png(), "image/png")).run()
    ok(at)
    assert at.session_state["upload_name"] == "red.png" and not errors(at)
    assert at.session_state["last_good_conv"][0].pixels.shape == (40, 30, 1)
    at.file_uploader[0].set_value(("broken.png", b"\x89PNG but not really", "image/png")).run()
    ok(at)
    assert any("broken.png" in e and "not an image" in e for e in errors(at))
    assert at.session_state["upload_name"] == "red.png"
    assert at.session_state["last_good_conv"][0].caption == "red.png"


def test_backprop_pool_window_too_large_after_switching_to_the_grid_keeps_the_page():
    at = ok(page("backprop"))
    at.number_input(key="_w_pool_kh").set_value(7).run()
    ok(at)
    at.radio(key="_w_source").set_value("5x5 course grid").run()
    ok(at)
    assert any("larger than the padded input" in e for e in errors(at))
    assert any(
        s.value == "Learn the kernel" for s in at.subheader
    )  # the rest of the page still runs


@pytest.mark.parametrize("name", data.available_datasets())
def test_pooling_on_every_available_dataset_with_class_and_index(name):
    at = ok(page("pooling"))
    at.selectbox(key="_w_dataset").set_value(name).run()
    at.selectbox(key="_w_class").set_value(3).run()
    at.number_input(key="_w_index").set_value(5).run()
    ok(at)
    caption = at.session_state["last_good_pool"][0].caption
    assert caption.startswith(name) and caption.endswith("#5")
    at.button(key="random_index").click().run()
    ok(at)
    members = int((data.load_dataset(name).y_train == 3).sum())
    assert 0 <= at.number_input(key="_w_index").value < members
    assert at.session_state["last_good_pool"][0].caption.endswith(
        f"#{at.number_input(key='_w_index').value}"
    )


def test_dense_homework_network_one_example_and_batch_mean():
    at = ok(page("dense"))
    assert at.title[0].value == "Homework: 2-3-1 network"
    at.number_input(key="_w_dense_example").set_value(3).run()
    ok(at)
    chart = at.get("plotly_chart")
    assert any('"example 3"' in c.proto.spec for c in chart)
    at.radio(key="_w_dense_view").set_value("batch mean").run()
    ok(at)
    assert not errors(at)
    checks = at.dataframe[-1].value
    assert len(checks) == 13 and checks[gradcheck.ERROR_LABEL].astype(float).max() < 1e-5


def test_dense_homework_gradient_descent_lowers_the_loss():
    at = ok(page("dense"))
    at.slider(key="_w_dense_steps").set_value(20).run()
    at.slider(key="_w_dense_rate").set_value(2.0).run()
    ok(at)
    X, Y_T, weights = dense.homework_example()
    losses = dense.gradient_descent(X, Y_T, weights, learning_rate=2.0, steps=20)[1]
    assert losses[-1] < losses[0]
    assert any(f"L goes from {losses[0]:.4f} to {losses[-1]:.4f}" in c.value for c in at.caption)


@pytest.mark.parametrize("name", data.available_datasets())
def test_data_page_shows_samples_and_counts_per_split(name):
    at = AppTest.from_file(str(ROOT / "app_pages" / "data.py"), default_timeout=TIMEOUT)
    ok(at.run())
    at.selectbox(key="data_dataset").set_value(name).run()
    ok(at)
    charts = at.get("plotly_chart")
    assert len(charts) == 4  # a grid per split and the class counts
    assert all(f'"{split}: ' in chart.proto.spec for split, chart in
               zip(("train", "validation", "test"), charts))
    counts = at.dataframe[0].value
    loaded = data.load_dataset(name)
    assert counts["class"].tolist() == loaded.class_names
    assert counts["test"].sum() == len(loaded.y_test)
    assert counts["train"].sum() + counts["validation"].sum() == len(loaded.y_train)
    before = at.session_state["data_seed"]
    at.button(key="data_shuffle").click().run()
    ok(at)
    assert at.session_state["data_seed"] != before


def test_data_page_says_how_to_get_a_missing_fashion_mnist(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "FASHION_DIRS", (tmp_path,))
    ui.dataset.clear()
    try:
        at = AppTest.from_file(str(ROOT / "app_pages" / "data.py"), default_timeout=TIMEOUT)
        ok(at.run())
        at.selectbox(key="data_dataset").set_value("fashion-mnist").run()
        ok(at)
        assert any("Fashion-MNIST is not installed" in i.value for i in at.info)
        assert not at.get("plotly_chart")
    finally:
        ui.dataset.clear()
