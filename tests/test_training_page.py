"""The training page runs headless (streamlit.testing AppTest): a tiny run, Stop, results,
reopening, the training queue (one slot: the session fixture's Ray), one run per session."""

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz import training
from cnnviz.nn import lenet

PAGE = str(Path(__file__).resolve().parents[1] / "app_pages" / "training.py")
TIMEOUT = 120
pytestmark = pytest.mark.usefixtures("ray_service")


@pytest.fixture(autouse=True)
def class_store_elsewhere(tmp_path_factory, monkeypatch):
    """The class store (the page reads the teacher's limits) outside the runs folder, whose
    entries the tests count."""
    folder = tmp_path_factory.mktemp("class")
    monkeypatch.setenv("CNNVIZ_DATABASE_URL", f"sqlite:///{folder / 'class.db'}")


@pytest.fixture
def page(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_RUNS_DIR", str(tmp_path))
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


# A run that must still be going when the test stops it: the page's most epochs, on more images
# (50 epochs of 300 images once ended on their own, ~5 s, before the test's stop came)
LONG = {"epochs": 100, "limit": 1000}


def start_numpy_run(at: AppTest, epochs: int, limit: int = 300) -> AppTest:
    at.radio(key="train_backend").set_value("numpy")
    at.slider(key="train_limit_mnist").set_value(limit)
    at.number_input(key="train_epochs").set_value(epochs)
    return ok(at.button(key="train_start").click().run())


def finish(at: AppTest) -> AppTest:
    """The page once its run ended and was collected. The run that `at` saw may have collected it
    already: a job that ended while the page ran (a queued run left at once) reruns the page."""
    if "training_job" in at.session_state:
        at.session_state["training_job"].join(TIMEOUT)
        at = ok(at.run())
    return at


def wait_for_phase(at: AppTest, phase: str) -> AppTest:
    job = at.session_state["training_job"]
    deadline = time.monotonic() + TIMEOUT
    while job.phase != phase:
        assert not job.done and time.monotonic() < deadline, job.error
        time.sleep(0.05)
    return ok(at.run())


def test_training_page_starts_from_train_configs_defaults(page):
    from cnnviz.data.splits import VALIDATION_FRACTION

    defaults = training.TrainConfig()
    assert page.radio(key="train_backend").value == defaults.backend
    assert page.selectbox(key="train_model").value == defaults.model
    assert page.number_input(key="train_epochs").value == defaults.epochs
    assert page.select_slider(key="train_batch").value == defaults.batch_size
    assert page.select_slider(key="train_lr").value == defaults.learning_rate
    assert page.number_input(key="train_seed").value == defaults.seed
    assert page.checkbox(key="train_augment").value == defaults.augment
    assert page.number_input(key="train_epochs").help == "Passes over the training images"
    limit = page.slider(key="train_limit_mnist")
    assert f"{VALIDATION_FRACTION:.0%} of them held out" in limit.label


def test_training_page_trains_shows_results_and_offers_the_model(page, tmp_path):
    at = start_numpy_run(page, epochs=1)
    assert "training_job" in at.session_state
    assert at.button(key="train_start").disabled and not at.button(key="train_stop").disabled
    at = finish(at)
    assert "training_job" not in at.session_state
    model_path = Path(at.session_state["trained_model_path"])
    assert (model_path.parent.parent == tmp_path
            and lenet.load_params(model_path)[1]["epochs_done"] == 1)
    assert "The Draw page reads digits with this model." in [c.value for c in at.caption]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test accuracy"].endswith("%")
    assert len(at.get("plotly_chart")) >= 4  # epoch and batch curves, confusion matrix, image grid
    assert any("result_batches" in chart.proto.id for chart in at.get("plotly_chart"))
    assert len(at.get("download_button")) == 4  # the model, two histories, the Keras script
    kept = at.session_state["training_runs"][-1]  # the session keeps a summary; shown: the whole
    assert kept.history.batches == [] and kept.history.test_predictions is None
    assert len(kept.history.epochs) == 1
    script = at.code[0].value
    assert "def build_model" in script and "LEARNING_RATE = 0.001" in script
    compile(script, "exported.py", "exec")
    at.selectbox(key="grid_true").set_value(None)
    at.checkbox(key="grid_mistakes").set_value(False)
    at = ok(at.run())
    assert "2000 images in this cell" in " ".join(c.value for c in at.caption)


def test_training_page_stop_halts_the_run(page):
    at = wait_for_phase(start_numpy_run(page, **LONG), "running")
    at = ok(at.button(key="train_stop").click().run())
    at = finish(at)
    run = at.session_state["training_runs"][-1]
    assert run.status == "stopped" and len(run.history.epochs) < LONG["epochs"]
    assert "(stopped" in at.selectbox(key="training_selected").value


def test_training_page_reopens_a_saved_run_and_compares_runs(page, tmp_path):
    with_numpy = training.TrainConfig(backend="numpy", epochs=1, limit=200)
    from cnnviz.data.datasets import load_dataset

    training.train(with_numpy, load_dataset("mnist"),
                   run_dir=training.new_run_dir(with_numpy, tmp_path))
    at = ok(page.run())
    at.button(key="reopen_run").click()
    at = ok(at.run())
    assert len(at.session_state["training_runs"]) == 1
    at = finish(start_numpy_run(at, epochs=1))
    assert len(at.session_state["training_runs"]) == 2
    assert at.multiselect(key="compare_runs").value == at.selectbox(key="training_selected").options
    assert any("compare_size_time" in chart.proto.id for chart in at.get("plotly_chart"))


def test_two_sessions_never_see_each_others_live_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_RUNS_DIR", str(tmp_path))
    first = ok(AppTest.from_file(PAGE, default_timeout=TIMEOUT).run())
    second = ok(AppTest.from_file(PAGE, default_timeout=TIMEOUT).run())
    first = wait_for_phase(start_numpy_run(first, **LONG), "running")
    second = ok(second.run())
    assert "training_job" in first.session_state and "training_job" not in second.session_state
    assert not second.button(key="train_start").disabled
    assert "(0)" in second.expander[0].label  # the other session's live run is not listed
    first = ok(first.button(key="train_stop").click().run())
    first = finish(first)
    second = ok(second.run())
    assert second.session_state["training_runs"] == []
    assert "(1)" in second.expander[0].label  # once stopped, it is a saved run anyone may reopen


def test_a_second_session_waits_in_the_queue_and_may_leave_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_RUNS_DIR", str(tmp_path))
    first = ok(AppTest.from_file(PAGE, default_timeout=TIMEOUT).run())
    second = ok(AppTest.from_file(PAGE, default_timeout=TIMEOUT).run())
    first = wait_for_phase(start_numpy_run(first, **LONG), "running")  # the only slot
    second = wait_for_phase(start_numpy_run(second, epochs=1), "queued")
    second = wait_for_phase(second, "queued")  # its place known
    assert "Your run waits in the training queue: you are next" in second.info[0].value
    assert second.button(key="train_stop").label == "Leave the queue"
    assert first.button(key="train_stop").label == "Stop training"
    second = finish(ok(second.button(key="train_stop").click().run()))
    assert "You left the training queue" in second.info[0].value
    assert second.session_state["training_runs"] == []
    assert not second.button(key="train_start").disabled
    first = finish(ok(first.button(key="train_stop").click().run()))
    assert first.session_state["training_runs"][-1].status == "stopped"


def test_a_session_has_one_run_at_most(page, small_mnist, tmp_path):
    config = training.TrainConfig(backend="numpy", epochs=50, limit=300)
    job = training.start_job(config, small_mnist, training.new_run_dir(config, tmp_path))
    page.session_state["training_job"] = job  # a first press, unseen when a second one arrives
    at = page.button(key="train_start").click().run()  # the second press
    assert not at.exception and at.session_state["training_job"] is job
    assert at.button(key="train_start").disabled
    assert len(list(tmp_path.iterdir())) == 1  # the first press's run folder, no other
    job.stop()
    job.join(TIMEOUT)


def test_a_run_whose_folder_went_away_says_so_and_the_page_goes_on(page):
    import shutil

    at = finish(start_numpy_run(page, epochs=1))
    shutil.rmtree(at.session_state["training_runs"][-1].run_dir)
    at = ok(at.run())
    assert any("can no longer be read" in w.value and "Its results cannot be shown." in w.value
               for w in at.warning)
    assert not at.get("download_button") and not at.button(key="train_start").disabled
