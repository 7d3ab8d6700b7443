"""The class on the Training page (app_pages/training.py): a student's runs carry their name, the
teacher's limits cap the run's settings, a Start pressed while the teacher paused training is
held until they resume (a run already in Ray's queue waits there, keeping its place: pause_gate),
a reload finds the browser's live run, and the teacher's Stop reaches the run on whichever
replica holds it.

The class store being unreachable never stops a student from training: the run has no name, the
limits and the pause are not applied, and the page says so once. The teacher's own session is no
student: its runs have no name, and neither limits nor the pause apply to it.

Per process (one replica): LIVE_RUNS, this process's live runs by browser key (a reload of the
same browser on the same replica — HAProxy's sessions are sticky — finds its run there), and
HELD_STARTS, the Starts held by the pause, so that they go to Ray in the order they were pressed.
"""

import dataclasses
import secrets
import threading
import time
import weakref

import streamlit as st

from cnnviz.classroom import settings, stops, students
from cnnviz.classroom.names import NameRefused, as_markdown
from cnnviz.classroom.settings import TeacherSettings
from cnnviz.classroom.store import ClassStore, StoreUnavailable, database_url
from cnnviz.ui import classroom

PAUSED = "Training is paused by your teacher: your run will start when they resume"
STOPPED = "Stopped by your teacher"
NO_NAME = ("The class is not reachable right now: this run trains without your name in the "
           "class.")
HELD = "_class_held_start"  # session: (token, pressed_at, config) of a Start the pause holds
NOTE = "_class_training_note"  # session: said while the run it is about is live
NOTE_SAID = "_class_training_note_said"  # session: the store being down was said already
HELD_POLL_SECONDS = 1.0  # a held Start looks at the pause this often
STOP_POLL_SECONDS = 1.0  # a replica with live runs reads the teacher's stop requests this often
HELD_STALE_SECONDS = 5.0  # a held Start whose page stopped polling (closed) queues no one


def limits() -> TeacherSettings:
    """The teacher's settings for a student's session, read at most once a second per process
    (classroom.RECENT); no limits and no pause for the teacher or when the store is down."""
    if classroom.is_teacher():
        return TeacherSettings()
    try:
        store = classroom.class_store()
        return classroom.RECENT.get(store, "settings", lambda: settings.read(store))
    except StoreUnavailable:
        return TeacherSettings()


def most_epochs(current: TeacherSettings, most: int) -> int:
    """The Epochs input's largest value: `most`, or the class limit when it is lower."""
    return min(most, current.max_epochs or most)


def images_range(current: TeacherSettings, n_train: int) -> tuple[int, int]:
    """The Training images slider's range: 200 (less for a lower class limit) up to the
    dataset's size or the class limit (a slider's ends must differ)."""
    most = min(n_train, current.max_train_images or n_train)
    return max(1, min(200, most - 1)), most


def limits_text(current: TeacherSettings) -> str | None:
    """"Your teacher limits runs to 3 epochs and 5,000 training images.", or None."""
    parts = [f"{current.max_epochs} epoch{'s' * (current.max_epochs != 1)}"
             if current.max_epochs else None,
             f"{current.max_train_images:,} training images" if current.max_train_images
             else None]
    parts = [part for part in parts if part]
    return f"Your teacher limits runs to {' and '.join(parts)}." if parts else None


def clamped(config, current: TeacherSettings):
    """The run's config within the class limits (TeacherSettings.limited)."""
    epochs, limit = current.limited(config.epochs, config.limit)
    return dataclasses.replace(config, epochs=epochs, limit=limit)


class LiveRuns:
    """This process's live runs, by the browser key of the student who started each, and a
    watcher thread (while any is live) that stops those the teacher asked to stop."""

    def __init__(self):
        self._lock = threading.Lock()
        self._runs: dict[str, tuple[object, str, ClassStore | None]] = {}
        self._by_teacher = weakref.WeakSet()
        self._watcher: threading.Thread | None = None

    def add(self, key: str, job, run_id: str, store: ClassStore | None) -> None:
        with self._lock:
            self._runs[key] = (job, run_id, store)
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch, daemon=True,
                                                 name="cnnviz-class-stops")
                self._watcher.start()

    def find(self, key: str):
        """The live job of browser `key`, or None."""
        with self._lock:
            job, _, _ = self._runs.get(key, (None, None, None))
        return job if job is not None and not job.done else None

    def stopped_by_teacher(self, job) -> bool:
        with self._lock:
            return job in self._by_teacher

    def _live(self) -> list[tuple[object, str, ClassStore | None]]:
        """The live runs; forgets the ended ones, and ends the watcher when none is left."""
        with self._lock:
            self._runs = {key: run for key, run in self._runs.items() if not run[0].done}
            if not self._runs:
                self._watcher = None
            return list(self._runs.values())

    def _watch(self) -> None:
        try:
            while runs := self._live():
                for store in {store for _, _, store in runs if store is not None}:
                    self._stop_asked(store, [run for run in runs if run[2] is store])
                time.sleep(STOP_POLL_SECONDS)
        finally:
            with self._lock:
                if self._watcher is threading.current_thread():
                    self._watcher = None

    def _stop_asked(self, store: ClassStore, runs: list) -> None:
        """Stops the runs the teacher asked to stop, and marks those requests handled."""
        try:
            asked = classroom.RECENT.get(store, "stops", lambda: stops.pending(store))
            for job, run_id, _ in runs:
                if run_id in asked and not job.stopping:
                    with self._lock:
                        self._by_teacher.add(job)
                    try:
                        job.stop()
                    except Exception:  # noqa: BLE001 - a run whose worker is gone: it ends anyway
                        pass
                    stops.handled(store, run_id)
        except StoreUnavailable:
            pass  # asked again at the next poll


LIVE_RUNS = LiveRuns()


class HeldStarts:
    """Starts held by the pause across this process's sessions: the earliest pressed goes first
    when the pause ends. A session whose page stopped polling (closed) holds no one up."""

    def __init__(self):
        self._lock = threading.Lock()
        self._held: dict[str, tuple[float, float]] = {}  # token -> (pressed_at, polled_at)

    def first(self, token: str, pressed_at: float) -> bool:
        """Notes that `token`'s page polls; whether its Start is the earliest one held."""
        now = time.monotonic()
        with self._lock:
            self._held[token] = (pressed_at, now)
            self._held = {other: held for other, held in self._held.items()
                          if now - held[1] < HELD_STALE_SECONDS}
            return min(self._held.items(), key=lambda item: (item[1][0], item[0]))[0] == token

    def drop(self, token: str) -> None:
        with self._lock:
            self._held.pop(token, None)


HELD_STARTS = HeldStarts()


def _store() -> ClassStore:
    """The class store, StoreUnavailable at once while it was found down (classroom.RECENT)."""
    store = classroom.class_store()
    if error := classroom.RECENT.down(store):
        raise error
    return store


def _no_name() -> None:
    """The store is down (or refused a name): this run has none; said once a session, quietly."""
    if not st.session_state.get(NOTE_SAID):
        st.session_state[NOTE] = st.session_state[NOTE_SAID] = NO_NAME


def _named() -> None:
    """A student who presses Start without a name gets a generated one (the sidebar changes
    it); the teacher is no student."""
    if classroom.is_teacher():
        return
    try:
        store = _store()
        me = classroom.student(store) or students.join(store, classroom.browser_key())
        st.session_state[classroom.STUDENT] = me
    except (StoreUnavailable, NameRefused):
        _no_name()


def started(job, run_dir) -> None:
    """A run of this session started: labelled with the student's name, and kept in LIVE_RUNS
    under the browser's key (a reload finds it, the teacher's Stop reaches it)."""
    key, store = classroom.browser_key(), None
    try:
        store = _store()
        if st.session_state.get(classroom.STUDENT) and not classroom.is_teacher():
            students.label_run(store, key, run_dir.name)
    except (StoreUnavailable, LookupError):  # LookupError: the student left the class meanwhile
        _no_name()
    LIVE_RUNS.add(key, job, run_dir.name, store)


def press_start(config, start) -> bool:
    """The Start button: `start(config)` within the class limits, or held while the teacher
    paused training. True when the page must be drawn again (started, or held)."""
    _named()
    current = limits()
    if not current.paused:
        return start(clamped(config, current))
    held = st.session_state[HELD] = (secrets.token_hex(8), time.time(), config)
    HELD_STARTS.first(*held[:2])  # in the line from now on
    return True


def pause_gate() -> settings.PauseGate | None:
    """What a student's run asks once it has a slot: whether the teacher paused training (it
    then waits, keeping its place). None for the teacher's runs, which the pause never holds."""
    return None if classroom.is_teacher() else settings.PauseGate(database_url())


def paused_ui() -> None:
    """Under a waiting run: that the teacher paused training (it starts when they resume)."""
    if limits().paused:
        st.info(PAUSED)


def holding() -> bool:
    """Whether this session's Start waits for the teacher to resume training."""
    return HELD in st.session_state


def cancel_held() -> None:
    """Leaves the line of held Starts; the page is drawn again (its settings free)."""
    token, _, _ = st.session_state.pop(HELD)
    HELD_STARTS.drop(token)
    st.rerun()


def held_ui(start) -> None:
    """A held Start, polled (a fragment): starts it once the pause ends and its turn comes."""
    state = st.session_state
    if HELD not in state:
        return
    token, pressed_at, config = state[HELD]
    first = HELD_STARTS.first(token, pressed_at)  # noted as polling, paused or not
    current = limits()
    if current.paused or not first:
        st.info(PAUSED)
        return
    del state[HELD]
    HELD_STARTS.drop(token)
    if start(clamped(config, current)):
        st.rerun()  # the whole page: the run's progress


def reattach(job_key: str) -> None:
    """A session without a run takes this browser's live run (a reload finds it again)."""
    if job_key not in st.session_state:
        job = LIVE_RUNS.find(classroom.browser_key())
        if job is not None:
            st.session_state[job_key] = job


def teacher_stop_ui(job_key: str) -> None:
    """Says so when the teacher stopped this session's run; a run stopped before it started
    leaves the session here (nothing was trained)."""
    job = st.session_state.get(job_key)
    if job is None or not job.done or not LIVE_RUNS.stopped_by_teacher(job):
        return
    if job.result is None and not job.error:
        del st.session_state[job_key]
        st.warning(f"{STOPPED} before your run started: nothing was trained.")
    else:
        st.warning(f"{STOPPED}.")


def training_as_ui(running: bool) -> None:
    """While this session's run is live or held: whose name it carries, or (the first run a
    store down left without a name) that it has none."""
    state = st.session_state
    if not running:
        state.pop(NOTE, None)
    elif NOTE in state:
        st.caption(f":material/cloud_off: {state[NOTE]}")
        return
    me = state.get(classroom.STUDENT)
    if running and me and not classroom.is_teacher():
        st.caption(f"Training as {as_markdown(me.name)} (change it in the sidebar)")
