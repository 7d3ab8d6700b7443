"""The class on the Training page: runs carry the student's name, the teacher's limits cap a run,
the pause holds a Start until the teacher resumes, a reload finds the browser's live run, and the
teacher stops any live run from the Class page. AppTest sessions of app.py (tests/class_app.py),
one SQLite class store in tmp_path, the one-slot Ray of the training tests (ray_service)."""

import time

import pytest

from cnnviz import training
from cnnviz.classroom import settings, stops, students
from cnnviz.classroom.settings import TeacherSettings
from cnnviz.training import TrainConfig
from cnnviz.ui import class_training
from tests.class_app import TOKEN, app, ok, shown, use_class_store

TIMEOUT = 120
ADA, BOB = "ada-browser-key-0001", "bob-browser-key-0002"
JOB = "training_job"
pytestmark = pytest.mark.usefixtures("ray_service")


@pytest.fixture
def store(monkeypatch, tmp_path):
    return use_class_store(monkeypatch, tmp_path)


# A run that must still be going when the test stops it or checks it trains: the page's most
# epochs, on more images (50 epochs of 300 images can end on their own in ~5 s)
LONG = {"epochs": 100, "limit": 1000}


def start_run(at, epochs: int = 1, limit: int = 300):
    """Start a NumPy run (by default tiny: 300 images, 1 epoch) on the student's Training page."""
    at.radio(key="train_backend").set_value("numpy")
    at.slider(key="train_limit_mnist").set_value(limit)
    at.number_input(key="train_epochs").set_value(epochs)
    return ok(at.button(key="train_start").click().run())


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def finish(at):
    at.session_state[JOB].join(TIMEOUT)
    return ok(at.run())


def run_id(at) -> str:
    return at.session_state["training_runs"][-1].run_dir.name


def test_a_students_run_carries_their_generated_name(store):
    at = start_run(app("training", key=ADA))
    me = students.find(store, ADA)
    assert me is not None  # joined with a generated name at Start
    # as the student reads it (Markdown's escapes undone)
    assert f"Training as {me.name} (change it in the sidebar)" in shown(at).replace("\\", "")
    at = finish(at)
    assert students.run_owners(store) == {run_id(at): me.name}
    assert "Training as" not in shown(at)


def test_a_named_students_run_carries_their_name(store):
    students.join(store, BOB, "Bob")
    at = finish(start_run(app("training", key=BOB)))
    assert students.run_owners(store) == {run_id(at): "Bob"}


def test_an_unreachable_class_store_never_stops_a_student_from_training(
        store, monkeypatch, tmp_path):
    monkeypatch.setenv("CNNVIZ_DATABASE_URL", f"sqlite:///{tmp_path}")  # a folder: no database
    at = start_run(app("training", key=ADA))
    assert JOB in at.session_state
    assert shown(at).count(class_training.NO_NAME) == 1
    at = finish(at)
    assert class_training.NO_NAME not in shown(at)  # said once
    assert at.session_state["training_runs"][-1].status == "finished"
    assert any(m.label == "Test accuracy" for m in at.metric)


def test_the_teachers_limits_cap_the_inputs_and_the_run(store):
    settings.write(store, TeacherSettings(max_epochs=1, max_train_images=300))
    at = app("training", key=ADA)
    assert at.number_input(key="train_epochs").max == 1
    assert at.slider(key="train_limit_mnist").max == 300
    assert "Your teacher limits runs to 1 epoch and 300 training images." in shown(at)
    at.radio(key="train_backend").set_value("numpy")
    at = ok(at.button(key="train_start").click().run())  # epochs and images as drawn
    config = at.session_state[JOB].config
    assert (config.epochs, config.limit) == (1, 300)
    finish(at)


def test_limits_clamp_a_config_before_it_starts():
    limits = TeacherSettings(max_epochs=2, max_train_images=500)
    config = class_training.clamped(TrainConfig(epochs=5, limit=None), limits)
    assert (config.epochs, config.limit) == (2, 500)
    config = class_training.clamped(TrainConfig(epochs=1, limit=300), limits)
    assert (config.epochs, config.limit) == (1, 300)
    assert class_training.images_range(TeacherSettings(), 10_000) == (200, 10_000)
    assert class_training.images_range(limits, 10_000) == (200, 500)
    assert class_training.images_range(TeacherSettings(max_train_images=150), 10_000) == (149, 150)
    assert class_training.limits_text(TeacherSettings()) is None
    assert class_training.limits_text(TeacherSettings(max_epochs=3)) == (
        "Your teacher limits runs to 3 epochs.")


def test_a_start_while_paused_is_held_and_starts_in_order_when_the_teacher_resumes(
        store, tmp_path):
    settings.write(store, TeacherSettings(paused=True))
    ada, bob = app("training", key=ADA), app("training", key=BOB)
    ada, bob = start_run(ada), start_run(bob)  # Ada pressed first
    for at, key in ((ada, ADA), (bob, BOB)):
        assert class_training.PAUSED in [i.value for i in at.info]
        name = students.find(store, key).name  # named at Start, while held
        assert f"Training as {name} (change" in shown(at).replace("\\", "")
        assert JOB not in at.session_state and at.button(key="train_start").disabled
    assert not list((tmp_path / "runs").glob("*/run.json"))  # nothing submitted
    settings.write(store, TeacherSettings(paused=False))
    bob = ok(bob.run())  # Ada's Start was pressed first: Bob's waits for hers
    assert JOB not in bob.session_state
    ada = ok(ada.run())
    bob = ok(bob.run())
    assert JOB in ada.session_state and JOB in bob.session_state
    assert class_training.PAUSED not in shown(bob)
    ada, bob = finish(ada), finish(bob)
    assert students.run_owners(store).keys() == {run_id(ada), run_id(bob)}


def test_a_held_start_can_be_left(store):
    settings.write(store, TeacherSettings(paused=True))
    at = start_run(app("training", key=ADA))
    assert at.button(key="train_stop").label == "Leave the queue"
    at = ok(at.button(key="train_stop").click().run())
    assert JOB not in at.session_state and class_training.HELD not in at.session_state
    assert not at.button(key="train_start").disabled
    settings.write(store, TeacherSettings(paused=False))
    assert JOB not in ok(at.run()).session_state  # nothing starts once the pause ends


def test_a_reload_finds_the_live_run_and_the_teacher_stops_it(store):
    first = start_run(app("training", key=ADA), **LONG)
    job = first.session_state[JOB]
    wait_until(lambda: job.phase == "running", "the run to train")
    reloaded = app("training", key=ADA)  # a new session of the same browser (its cookie)
    assert reloaded.session_state[JOB] is job
    assert not reloaded.button(key="train_stop").disabled
    assert JOB not in app("training", key=BOB).session_state  # another browser's is not found
    teacher = app("class", TOKEN)
    [run] = students.runs_of(store, ADA)
    teacher = ok(teacher.button(key=f"class_stop_{run}").click().run())
    assert run in stops.pending(store) or job.stopping
    job.join(TIMEOUT)  # the replica's watcher stops it within seconds
    reloaded = ok(reloaded.run())
    assert f"{class_training.STOPPED}." in [w.value for w in reloaded.warning]
    assert reloaded.session_state["training_runs"][-1].status == "stopped"
    assert stops.pending(store) == frozenset()


def test_the_teacher_stops_a_waiting_run_before_it_starts(store):
    bob = start_run(app("training", key=BOB), **LONG)  # the only slot
    wait_until(lambda: bob.session_state[JOB].phase == "running", "Bob's run to train")
    ada = start_run(app("training", key=ADA))
    job = ada.session_state[JOB]
    wait_until(lambda: job.phase == "queued", "Ada's run to wait")
    [run] = students.runs_of(store, ADA)
    teacher = app("class", TOKEN)
    assert "Live runs (2)" in shown(teacher)
    ok(teacher.button(key=f"class_stop_{run}").click().run())
    job.join(TIMEOUT)
    ada = ok(ada.run())
    assert (f"{class_training.STOPPED} before your run started: nothing was trained."
            in [w.value for w in ada.warning])
    assert "You left the training queue" not in shown(ada) and JOB not in ada.session_state
    assert bob.session_state[JOB].phase == "running"  # the other run trains on
    finish(ok(bob.button(key="train_stop").click().run()))


def test_a_run_already_waiting_when_the_teacher_pauses_asks_the_pause_and_says_so(
        store, monkeypatch):
    holds, start_job = [], training.start_job
    monkeypatch.setattr(training, "start_job", lambda *args, hold=None, **kwargs: (
        holds.append(hold) or start_job(*args, hold=hold, **kwargs)))
    bob = start_run(app("training", key=BOB), **LONG)  # the only slot
    wait_until(lambda: bob.session_state[JOB].phase == "running", "Bob's run to train")
    ada = start_run(app("training", key=ADA))
    wait_until(lambda: ada.session_state[JOB].phase == "queued", "Ada's run to wait")
    assert class_training.PAUSED not in shown(ok(ada.run()))
    settings.write(store, TeacherSettings(paused=True))
    ada = ok(ada.run())
    assert class_training.PAUSED in [i.value for i in ada.info] and "you are next" in shown(ada)
    assert [type(hold) for hold in holds] == [settings.PauseGate] * 2  # what her worker asks
    assert holds[1].paused() and store.where not in repr(holds[1])
    settings.write(store, TeacherSettings(paused=False))
    assert not holds[1].paused() and class_training.PAUSED not in shown(ok(ada.run()))
    for at in (ada, bob):
        at.session_state[JOB].stop()
        at.session_state[JOB].join(TIMEOUT)


def test_the_pause_gate_pauses_no_one_when_the_class_store_cannot_be_reached(tmp_path):
    (tmp_path / "a-file").touch()  # a database in a folder that cannot be: StoreUnavailable
    gate = settings.PauseGate(f"sqlite:///{tmp_path / 'a-file' / 'class.db'}")
    assert gate.paused() is False
    assert class_training.pause_gate() is not None  # outside any session: a student's
