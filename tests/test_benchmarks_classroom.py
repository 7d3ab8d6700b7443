"""The classroom load test's protocol client: widget values offline, then against a real server.

The tests marked `server` start `cnnviz app` and hold real sessions over its websocket
(about 30 s on two busy cores).
"""

import asyncio
import json
import os
import random
import time
from types import SimpleNamespace

import pytest

from benchmarks import students, teacher
from benchmarks.server import TreeSampler, started_server
from benchmarks.streamlit_protocol import StreamlitSession
from benchmarks.streamlit_widgets import Widget, held_value
from cnnviz.classroom import shares
from cnnviz.classroom.names import as_markdown
from cnnviz.classroom.store import ClassStore, database_url


@pytest.mark.parametrize("widget, current", [
    (Widget("$$ID-1-_w_padding", "radio", "Padding", options=("valid", "same", "explicit")),
     "valid"),
    (Widget("$$ID-2-_w_ksize", "select_slider", "Kernel size", options=("1", "3", "5")), "3"),
    (Widget("$$ID-3-_w_stride_h", "number_input", "Stride sh", bounds=(1, 7, 1)), 1.0),
    (Widget("$$ID-4-_w_filters", "slider", "Filters", bounds=(1, 6, 1)), 6.0),
    (Widget("$$ID-5-conv_sweep", "toggle", "Walk"), False),
])
def test_another_value_is_a_different_allowed_value_the_state_carries(widget, current):
    rng = random.Random(0)
    for _ in range(20):
        value = widget.another_value(current, rng)
        assert value != current
        if widget.options:
            assert value in widget.options
        if widget.bounds:
            assert widget.bounds[0] <= value <= widget.bounds[1]
        state = widget.state(value)
        assert state.id == widget.id and held_value(state) == value


SCRUBBED = {  # the data the pages give the scrub component, as its element carries them
    "conv": {"kind": "conv", "bounds": {"bias": [-5, 5]}, "settings": {
        "padding": "valid", "pad": [1, 1], "stride": [1, 1], "bias": 0.0, "activation": "none",
        "presets": ["Sobel left"], "kernels": [[[1, 0, -1]] * 3], "position": [3, 4, 0]}},
    "pool": {"kind": "pool", "bounds": {"bias": [-5, 5]}, "settings": {
        "mode": "max", "window": [2, 2], "stride": [2, 2], "position": [0, 5]}},
}


@pytest.mark.parametrize("kind", ["conv", "pool"])
def test_a_scrub_settle_moves_one_setting_and_the_state_carries_it(kind):
    data, rng = SCRUBBED[kind], random.Random(0)
    widget = Widget("$$ID-7-conv_scrub", "component", f"scrub {kind}", data=json.dumps(data))
    moved = set()
    for _ in range(40):
        settings = widget.another_value(None, rng)
        changed = [name for name, value in settings.items() if value != data["settings"][name]]
        assert len(changed) == 1
        moved.add(changed[0])
        state = widget.state(settings)
        assert state.id == widget.id and held_value(state) == settings
    assert moved == ({"stride", "padding", "bias", "position"} if kind == "conv"
                     else {"stride", "mode", "window", "position"})


def test_buttons_are_clicked_not_set():
    with pytest.raises(ValueError, match="click it"):
        Widget("$$ID-6-learn", "button", "Run gradient descent").state(True)


@pytest.fixture(scope="module")
def server():
    """One server for the module, with a teacher's token and a class store of its own (in
    $CNNVIZ_TEACHER_TOKEN and $CNNVIZ_DATABASE_URL while the module runs)."""
    with teacher.lesson_environment(None), started_server() as running:
        yield running


@pytest.mark.server
def test_session_changes_a_control_found_in_the_page_and_the_server_applies_it(server):
    async def visit() -> list:
        session = StreamlitSession(server.url, timeout=60)
        runs = [await session.open("convolution")]
        scrub = session.widget("scrub conv", "component")  # settled as the browser would
        settings = json.loads(scrub.data)["settings"]
        assert settings["padding"] == "valid" and session.value(scrub) is None
        runs.append(await session.change(scrub, {**settings, "padding": "same"}))
        assert "padding=same" in session.query_string  # the script saw the new value
        assert runs[-1].kinds["page_info_changed"] == 1  # only the setting that changed
        assert json.loads(session.widget("scrub conv").data)["settings"]["padding"] == "same"
        runs.append(await session.switch_page("pooling"))
        scrub = session.widget("scrub pool")
        runs.append(await session.change(scrub, {**json.loads(scrub.data)["settings"],
                                                 "mode": "avg"}))
        assert "pool_mode=avg" in session.query_string
        await session.close()
        return runs

    runs = asyncio.run(visit())
    assert [run.status for run in runs] == ["finished"] * 4
    assert 0 < runs[1].chart_seconds["step"] < runs[1].seconds  # the chart came mid-run
    assert all(run.messages > 5 and not run.exceptions and not run.error_boxes for run in runs)


@pytest.mark.server
def test_two_students_record_changes_without_errors(server):
    room = students.Classroom()
    until = time.monotonic() + 12

    async def lesson():
        await asyncio.gather(*(students.student(n, server.url, until, (0.3, 1.0), 1.0, 7, room)
                               for n in range(2)))

    asyncio.run(lesson())
    changes = [action for action in room.actions if action.kind == "change"]
    assert len(changes) >= 4 and all(action.seconds > 0 for action in changes)
    assert [a.kind for a in room.actions].count("open") == 2
    assert not room.disconnects and not room.failures
    assert not [text for action in room.actions for text in action.exceptions]
    sample = TreeSampler(server.pid).sample()
    assert sample.server_rss_mb > 50 and sample.rss_mb >= sample.server_rss_mb


def test_lost_answers_are_the_last_sent_ones_the_store_does_not_hold(tmp_path, monkeypatch):
    from cnnviz.classroom import questions
    from cnnviz.classroom import students as class_students
    from cnnviz.classroom.store import DATABASE_ENV, ClassStore

    monkeypatch.setenv(DATABASE_ENV, f"sqlite:///{tmp_path / 'class.db'}")
    store = ClassStore()
    asked = questions.ask(store, "Output size?", "number", answer="12")
    for key, name in (("k" * 16, "ada"), ("b" * 16, "bo")):
        class_students.join(store, key, name)
    questions.answer(store, asked.id, "k" * 16, "12")
    questions.answer(store, asked.id, "b" * 16, "24")
    store.close()
    lesson = teacher.Lesson("t" * 32, asked={asked.id: ()}, answers=[
        teacher.SentAnswer(asked.id, "ada", "13"), teacher.SentAnswer(asked.id, "ada", "12"),
        teacher.SentAnswer(asked.id, "bo", "13"),  # the store holds bo's 24: this one is lost
        teacher.SentAnswer(asked.id, "cy", "12")])  # never stored at all
    assert [(a.name, a.value) for a in lesson.lost_answers()] == [("bo", "13"), ("cy", "12")]


def test_banner_delays_count_only_students_connected_through_the_share():
    def tab(opened, closed, *banners):
        return SimpleNamespace(opened_at=opened, closed_at=closed, banners=list(banners))

    lesson = teacher.Lesson("t" * 32, shares=[("same padding", 100.0), ("valid padding", 130.0)])
    lesson.students = [
        tab(0, 200, ("valid padding", 90.0), ("same padding", 101.5), ("valid padding", 131.0)),
        tab(0, 200, ("same padding", 99.0)),  # an old banner of that label; none after: missed
        tab(0, 120, ("same padding", 100.5)),  # left before the second share settled
        tab(135, 200)]  # came after both
    delays, missed = lesson.banner_delays()
    assert sorted(round(d, 1) for d in delays) == [0.5, 1.0, 1.5]
    assert missed == 2  # the second student missed both shares


@pytest.mark.server
def test_a_teacher_shares_and_asks_and_every_student_answers(server, monkeypatch):
    for name, value in (("SHARE_SECONDS", 6), ("FIRST_QUESTION", 1), ("LAST_QUESTION", 10),
                        ("ANSWER_THINK", (0.5, 1.5))):
        monkeypatch.setattr(teacher, name, value)
    lesson, room = teacher.Lesson(os.environ[teacher.TOKEN_ENV]), students.Classroom()
    start = time.monotonic()
    until = start + 24

    async def lesson_with_two():
        await asyncio.gather(lesson.run(server.url, start, until), *(
            students.student(n, server.url, until, (0.3, 1.0), 1.0, 7, room,
                             lesson.student_session) for n in range(2)))

    asyncio.run(lesson_with_two())
    assert lesson.errors() == [] and not room.failures and not room.disconnects
    figures = lesson.figures()
    assert 1 <= figures["shares"] == len({label for label, _ in lesson.shares}) <= 2
    # every student connected through a share saw it (under load a share may come too late
    # for a student who leaves early to count)
    assert figures["banners_seen"] >= 2 and figures["banners_missed"] == 0
    assert 0 < figures["share_to_banner_p95_ms"] < teacher.BANNER_WAIT * 1e3
    assert figures["questions"] == 1 and figures["answers_sent"] == 2
    assert figures["answers_acknowledged"] == 2 and figures["answers_lost"] == 0
    assert figures["class_page_refreshes"] >= 4 and figures["banner_refreshes"] >= 2
    # the server redrew banners unasked (not every one: a student's own full run redraws the
    # banner too, and a push that comes while the student's own rerun waits is taken for it)
    assert figures["banner_pushes"] >= 1


def test_every_fragment_with_run_every_is_rerun_on_its_own_timer():
    session = StreamlitSession("http://127.0.0.1:1", follow_auto_reruns=True)
    session.auto_reruns = {"banner": 0.1, "live": 0.25}
    asked = []

    async def rerun(*, fragment_id="", auto=False, **_):
        asked.append((fragment_id, auto))
        return SimpleNamespace(seconds=0.01)

    session._rerun = rerun

    async def a_second():
        poller = asyncio.create_task(session._poll())
        await asyncio.sleep(1.05)
        poller.cancel()

    asyncio.run(a_second())
    assert 8 <= asked.count(("banner", True)) <= 11 and 3 <= asked.count(("live", True)) <= 5
    assert len(session.fragment_runs) == len(asked)


@pytest.mark.server
def test_the_server_pushes_a_share_to_a_banner_that_does_not_poll(server):
    """No run_every timer followed (the banner's own is 10 s): the share reaches the banner
    because the server reruns it, within a few seconds even on busy cores; with no news, no
    rerun is pushed."""
    store = ClassStore(database_url())

    class Reader(teacher.StudentTab):
        def _form_element(self, *args) -> None:
            pass  # reads the banner, answers no question: it makes no run of its own

    async def student() -> tuple[list, float]:
        tab = Reader(server.url, SimpleNamespace(tag="push"), 1)
        tab.follow_auto_reruns = False
        await tab.open("convolution")
        await asyncio.sleep(1.5)  # the watcher has seen the class as it is: nothing to push
        quiet = len(tab.pushed_runs)
        label = f"Pooling: pushed {time.time():.0f}"
        shared = time.perf_counter()
        shares.share(store, "pooling", {"pool_mode": "avg"}, label)
        label = as_markdown(label)  # as the banner shows it
        deadline = time.monotonic() + 8
        while not any(seen == label for seen, _ in tab.banners) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await tab.close()
        delays = [at - shared for seen, at in tab.banners if seen == label]
        return [quiet, tab.pushed_runs], delays[0] if delays else float("inf")

    (quiet, pushed), delay = asyncio.run(student())
    assert quiet == 0 and delay < 8
    assert pushed and all(run.status == "fragment" and not run.exceptions for run in pushed)
