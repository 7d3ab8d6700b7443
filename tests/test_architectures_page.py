"""The Architectures page runs headless (streamlit.testing AppTest) through its main controls."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.networks import architectures, presets

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60


def page() -> AppTest:
    return ok(AppTest.from_file(str(ROOT / "app_pages" / "architectures.py"),
                                default_timeout=TIMEOUT).run())


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.message for e in at.exception]
    return at


def edit(at: AppTest, edited_rows=None, added_rows=(), deleted_rows=()) -> AppTest:
    """Edit the layer table as a user would, then rerun."""
    key = f"arch_editor_{at.session_state['arch_version']}"
    at.session_state[key] = {"edited_rows": edited_rows or {}, "added_rows": list(added_rows),
                             "deleted_rows": list(deleted_rows)}
    return ok(at.run())


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def test_page_compares_presets_and_explains_the_same_count():
    at = page()
    assert [s.value for s in at.subheader] == [
        "Compare networks", "Layer by layer: edit a network",
        "Why both LeNet-5s have 61,706 parameters", "The 1,000 × 1,000 image argument",
        "Copy as Keras code"]
    totals = at.dataframe[0].value
    assert totals["parameters"].tolist() == [669_706, 220_234, 61_706]
    assert "conv3: Conv2D 120 5x5 valid relu on 5 x 5 x 16" in text(at)
    assert "61,706 = 61,706" in text(at) and not errors(at)
    at.multiselect(key="arch_compare").set_value([*presets.PRESETS, "Your network"]).run()
    ok(at)
    assert at.dataframe[0].value["parameters"].tolist()[-1] == 61_706  # the unedited LeNet-5
    at.toggle(key="arch_log").set_value(False).run()
    at.multiselect(key="arch_compare").set_value([]).run()
    ok(at)
    assert any("Pick networks" in i.value for i in at.info)


def test_invalid_edit_names_the_layer_and_keeps_the_last_good_network():
    at = page()
    edit(at, {0: {"units": 12}})  # conv1 with 12 filters: a good edit
    good = at.session_state["arch_network"]
    assert good.layers[0] == architectures.Conv2D(12, 5, padding="same", activation="relu")
    edit(at, {0: {"units": 12}, 2: {"kernel": 30}})
    assert any(e.startswith("layer 3 (Conv2D): its kernel 30x30 is larger than its input's height "
                            "14") and "last good network stays" in e for e in errors(at))
    assert at.session_state["arch_network"] == good
    rows = at.dataframe[2].value  # the analysis table shows the last good network
    assert rows["parameters"].tolist()[0] == (25 + 1) * 12


def test_removing_the_flatten_says_the_dense_layer_needs_one():
    at = page()
    edit(at, deleted_rows=[4])
    assert any("layer 5 (Dense)" in e and "put a Flatten before it" in e for e in errors(at))


def test_added_row_without_units_asks_for_them():
    at = page()
    edit(at, added_rows=[{"layer": "Dense"}])
    assert any("layer 9 (Dense): units is missing; fill it in" in e for e in errors(at))


def test_insert_a_layer_and_load_a_preset():
    at = page()
    at.selectbox(key="arch_insert_kind").set_value("Dropout").run()
    at.number_input(key="arch_insert_at").set_value(7).run()
    at.button(key="arch_insert").click().run()
    ok(at)
    network = at.session_state["arch_network"]
    assert network.layers[6] == architectures.Dropout(0.5) and len(network.layers) == 9
    assert "fc1_dropout" in at.dataframe[2].value["name"].tolist()
    assert "layers.Dropout(0.5, name=\"fc1_dropout\")" in at.code[0].value
    assert 'name="my_network"' in at.code[0].value  # edited: no longer the preset

    at.selectbox(key="arch_preset").set_value("CNN for CIFAR-10 (lecture)").run()
    at.button(key="arch_load").click().run()
    ok(at)
    assert (at.number_input(key="arch_h").value, at.number_input(key="arch_c").value) == (32, 3)
    assert at.session_state["arch_network"] == presets.PRESETS["CNN for CIFAR-10 (lecture)"]
    assert at.selectbox(key="arch_dataset").options == ["cifar10"]
    assert "528,054 parameters" in text(at)


def test_keras_code_follows_the_settings_and_the_input_shape():
    at = page()
    code = at.code[0].value
    assert 'name="lenet5"' in code and "EPOCHS = 3" in code
    compile(code, "exported.py", "exec")
    at.number_input(key="arch_epochs").set_value(5).run()
    at.selectbox(key="arch_dataset").set_value("fashion-mnist").run()
    ok(at)
    assert "EPOCHS = 5" in at.code[0].value and 'DATASET = "fashion-mnist"' in at.code[0].value
    assert at.get("download_button")[0].proto.label.endswith("Download the script")
    at.number_input(key="arch_h").set_value(64).run()
    at.number_input(key="arch_w").set_value(64).run()
    ok(at)
    assert not at.code and any("this network's input is (64, 64, 1)" in i.value for i in at.info)


@pytest.mark.parametrize("channels, dense_params, conv_params", [
    (1, (1000 * 1000 + 1) * 512, (3 * 3 + 1) * 32),
    (3, (3 * 1000 * 1000 + 1) * 512, (3 * 3 * 3 + 1) * 32),
])
def test_the_big_image_argument(channels, dense_params, conv_params):
    at = page()
    at.radio(key="arch_channels").set_value(channels).run()
    ok(at)
    assert f"**{dense_params:,}**" in text(at) and f"**{conv_params:,}**" in text(at)


def test_alexnet_loads_with_its_table_and_a_build_only_script():
    at = page()
    at.selectbox(key="arch_preset").set_value("AlexNet (2012, two GPUs)").run()
    at.button(key="arch_load").click().run()
    ok(at)
    assert [at.number_input(key=key).value for key in ("arch_h", "arch_w", "arch_c")] == [
        227, 227, 3]
    assert at.session_state["arch_network"] == presets.PRESETS["AlexNet (2012, two GPUs)"]
    rows = at.dataframe[2].value
    assert rows["name"].tolist()[:3] == ["conv1", "conv1_lrn", "pool1"]
    assert rows["receptive field"].tolist()[9] == "195x195"
    assert "60,965,224 parameters" in text(at) and not errors(at)
    assert at.selectbox(key="arch_dataset").options == ["imagenet"]
    assert any("cnnviz has no ImageNet data: this script does not train" in i.value
               for i in at.info)
    code = at.code[0].value
    assert "groups=2" in code and "class LocalResponseNormalization" in code
    assert "EPOCHS" not in code and "model.fit" not in code
    assert not [n for n in at.number_input if n.key in ("arch_epochs", "arch_batch")]
    compile(code, "alexnet_imagenet.py", "exec")


def test_groups_that_do_not_divide_name_the_layer_and_keep_alexnet():
    at = page()
    at.selectbox(key="arch_preset").set_value("AlexNet (one tower)").run()
    at.button(key="arch_load").click().run()
    edit(at, {3: {"groups": 2}})  # conv2 on two GPUs again: a good edit
    assert at.session_state["arch_network"].layers[3].groups == 2
    conv2_halved = 62_378_344 - (5 * 5 * 96 + 1) * 256 + (5 * 5 * 48 + 1) * 256
    assert f"{conv2_halved:,} parameters" in text(at)
    good = at.session_state["arch_network"]
    edit(at, {3: {"groups": 3}})
    assert any(e.startswith("layer 4 (Conv2D): its 256 filters do not split into 3 groups") and
               "last good network stays" in e for e in errors(at))
    assert at.session_state["arch_network"] == good


def test_both_alexnets_compare_beside_the_course_networks():
    at = page()
    at.multiselect(key="arch_compare").set_value(
        ["LeNet-5 (course)", "AlexNet (2012, two GPUs)", "AlexNet (one tower)"]).run()
    ok(at)
    assert at.dataframe[0].value["parameters"].tolist() == [61_706, 60_965_224, 62_378_344]
    assert at.dataframe[0].value["input"].tolist()[1] == "227 x 227 x 3"
