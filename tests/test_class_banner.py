"""The class on the students' pages: "Show this to the class" and the banner, "Follow the
teacher", students' names, the quick question; an unreachable store. AppTest sessions of app.py
(tests/test_class_page.py's helpers), one SQLite class store in tmp_path."""

import pytest

from benchmarks import scrubbing
from cnnviz.classroom import questions, shares, students
from cnnviz.figures import classroom as class_figures
from cnnviz.ui import classroom as class_ui
from tests.class_app import MARKUP_NAME, TOKEN, app, ok, shown, use_class_store
from tests.test_pages import size_formula

ADA, BOB = "ada-browser-key-0001", "bob-browser-key-0002"


@pytest.fixture
def store(monkeypatch, tmp_path):
    return use_class_store(monkeypatch, tmp_path)


def teacher_on(page: str):
    """The teacher's session (token accepted on /class), then on `page`."""
    at = app("class", TOKEN)
    at.switch_page(f"app_pages/{page}.py")
    return ok(at.run())


def click(at, label: str):
    return ok(next(b for b in at.button if b.label == label).click().run())


def banner(at) -> list[str]:
    """The banner's line, as the student reads it (Markdown's escapes undone)."""
    return [i.value.replace("\\", "") for i in at.info
            if i.value.startswith("Your teacher shows")]


def test_the_teacher_shows_a_view_and_a_students_banner_names_it(store):
    student = app("home", key=ADA)
    assert banner(student) == [] and not [b for b in student.button if b.label.startswith("Show")]
    teacher = teacher_on("convolution")
    ok(scrubbing.settle(teacher, stride=[2, 2], padding="same"))  # the component's settle
    click(teacher, "Show this to the class")
    share = shares.latest(store)
    assert share.page == "convolution"
    assert share.label == "Convolution: Sobel left, 3x3 kernel, stride 2, same padding"
    assert share.settings["stride_h"] == "2" and "token" not in share.query
    assert banner(ok(student.run())) == [f"Your teacher shows: {share.label}"]


def test_the_share_button_is_the_teachers_and_on_the_pages_that_can_be_shown(store):
    teacher = teacher_on("home")
    assert not [b for b in teacher.button if b.label == "Show this to the class"]
    assert [link.label for link in teacher.get("page_link")] == ["Class page"]
    assert not app("home", key=ADA).get("page_link")  # students are never linked to it
    for page in ("pooling", "architectures"):
        teacher.switch_page(f"app_pages/{page}.py").run()
        click(teacher, "Show this to the class")
    assert [s.label.split(":")[0] for s in shares.recent(store)] == ["Architectures", "Pooling"]
    assert shares.recent(store)[1].label == "Pooling: max pool 2x2, stride 2"


def test_a_student_who_follows_is_moved_with_each_share_and_one_who_does_not_stays(store):
    shares.share(store, "pooling", {"pool_mode": "avg", "pool_kh": "3"}, "Pooling: avg 3x3")
    follower, stayer = app("home", key=ADA), app("home", key=BOB)
    assert banner(stayer) == banner(follower) == ["Your teacher shows: Pooling: avg 3x3"]
    follower.toggle(key="_w_class_follow").set_value(True).run()  # follows: moved to the view
    ok(follower)
    assert follower.title[0].value == "Pooling"
    pooled = scrubbing.shown(follower, "pool")["settings"]
    assert pooled["mode"] == "avg" and pooled["window"] == [3, 2]
    shares.share(store, "convolution", {"padding": "same"}, "Convolution: same padding")
    ok(follower.run())
    assert follower.title[0].value == "Convolution"
    assert scrubbing.shown(follower)["settings"]["padding"] == "same"
    scrubbing.settle(follower, padding="valid")  # the student changes it: stays
    ok(follower.run())
    assert follower.title[0].value == "Convolution"
    assert scrubbing.shown(follower)["settings"]["padding"] == "valid"
    shares.share(store, "convolution", {"padding": "explicit", "pad_h": "2"}, "Convolution: 2")
    ok(follower.run())  # the same page, the teacher's settings
    settings = scrubbing.shown(follower)["settings"]
    assert settings["padding"] == "explicit" and settings["pad"][0] == 2
    ok(stayer.run())
    assert stayer.title[0].value == "cnnviz"  # never moved
    assert banner(stayer) == ["Your teacher shows: Convolution: 2"]
    click(stayer, "Open")
    assert stayer.title[0].value == "Convolution"
    follower.toggle(key="_w_class_follow").set_value(False).run()
    shares.share(store, "pooling", {}, "Pooling")
    assert ok(follower.run()).title[0].value == "Convolution"  # no longer follows


def test_a_name_with_markup_is_shown_literally_and_a_taken_name_is_refused(store):
    ada = app("home", key=ADA)
    ada.text_input(key="class_name").input(MARKUP_NAME)
    click(ada, "Save name")
    assert f"You are {MARKUP_NAME}." in [t.value for t in ada.text]
    assert students.find(store, ADA).name == MARKUP_NAME
    bob = app("home", key=BOB)
    bob.text_input(key="class_name").input(MARKUP_NAME.upper())
    click(bob, "Save name")
    assert any("already has this name" in e.value for e in bob.error)
    assert students.find(store, BOB) is None
    bob.text_input(key="class_name").input("")
    click(bob, "Save name")
    assert students.find(store, BOB).name.count("-") == 2  # a generated name: blue-heron-12


def test_a_reload_finds_the_student_by_the_browsers_cookie(store, monkeypatch):
    students.join(store, ADA, "Ada")
    monkeypatch.setattr(class_ui, "kept_key", lambda: ADA)
    at = app("home")
    assert at.session_state[class_ui.BROWSER_KEY] == ADA
    assert "You are Ada." in [t.value for t in at.text]


def test_a_question_answered_drawn_and_revealed(store):
    teacher = app("class", TOKEN)
    teacher.text_input[0].input("28x28 input, 5x5 kernel, stride 2, valid: output size?")
    teacher.text_input[1].input("12")
    click(teacher, "Ask")
    question = questions.current(store)
    assert question.kind == "number" and question.answer == "12"
    ada = app("home", key=ADA)
    assert any("output size?" in m.value for m in ada.markdown)
    ada.text_input(key=f"class_value_{question.id}").input("12")
    ada.text_input(key=f"class_new_name_{question.id}").input("Ada")
    click(ada, "Answer")
    assert "Your answer 12 is in." in [s.value for s in ada.success]
    bob = app("home", key=BOB)
    bob.text_input(key=f"class_value_{question.id}").input("13")
    click(bob, "Answer")  # Bob takes a generated name
    bob.text_input(key=f"class_value_{question.id}").input("14")
    click(bob, "Answer")  # a new answer replaces the old
    assert questions.tally(store, question.id) == {"12": 1, "14": 1}
    ok(teacher.run())
    chart = teacher.get("plotly_chart")[0].proto.spec
    assert '"12"' in chart and '"14"' in chart and "2 answer(s)" in shown(teacher)
    click(teacher, "Reveal the answer")
    assert questions.get(store, question.id).revealed
    assert any("Yours (12) was right" in s.value for s in ok(ada.run()).success)
    assert any("Yours was 14" in w.value for w in ok(bob.run()).warning)


def test_a_choice_question_refuses_an_empty_answer(store):
    question = questions.ask(store, "Which pooling has a gradient at one cell?", "choices",
                             ["max", "avg"])
    ada = app("home", key=ADA)
    students.join(store, ADA, "Ada")
    ada = app("home", key=ADA)
    click(ada, "Answer")
    assert "Choose an answer first." in [e.value for e in ada.error]
    ada.radio(key=f"class_value_{question.id}").set_value("max")
    click(ada, "Answer")
    assert questions.tally(store, question.id) == {"max": 1, "avg": 0}


def test_a_view_label_names_the_settings_and_survives_a_hand_edited_link():
    assert class_ui.view_label("Convolution", {
        "filters": "2", "preset_0": "Sobel left", "preset_1": "sharpen", "ksize": "3",
        "stride_h": "2", "stride_w": "1", "padding": "explicit", "pad_h": "1", "pad_w": "2"}) == (
        "Convolution: Sobel left, sharpen, 3x3 kernel, stride 2x1, padding 1x2")
    assert class_ui.view_label("Backpropagation", {"filters": "x", "dz": "ones"}) == (
        "Backpropagation: dZ ones")
    assert class_ui.view_label("Architectures", {}) == "Architectures"


def test_the_answers_figure_colours_the_right_answer_once_revealed():
    figure = class_figures.answers_figure({"<b>4</b>": 2, "12": 5}, right="12")
    bar = figure.data[0]
    assert list(bar.x) == ["&lt;b&gt;4&lt;/b&gt;", "12"] and list(bar.y) == [2, 5]
    assert list(bar.marker.color) == [class_figures.WRONG_COLOUR, class_figures.RIGHT_COLOUR]
    assert set(class_figures.answers_figure({"1": 1}).data[0].marker.color) == {
        class_figures.ANSWER_COLOUR}


def test_the_leaderboard_ranks_each_students_best_finished_run_per_dataset():
    def row(student, dataset, state, accuracy, run="r"):
        return {"student": student, "dataset": dataset, "state": state,
                "test_accuracy": accuracy, "run": run}

    figure = class_figures.leaderboard_figure([
        row("Ada", "mnist", "finished", 0.95), row("Ada", "mnist", "finished", 0.97),
        row("<b>Bob</b>", "mnist", "finished", 0.99), row("Cy", "mnist", "failed", None),
        row("", "fashion_mnist", "finished", 0.88, run="20260101-x"),
        row("Dee", "mnist", "running", 0.5)])
    by_name = {bar.name: bar for bar in figure.data}
    assert list(by_name["mnist"].x) == ["&lt;b&gt;Bob&lt;/b&gt;", "Ada"]
    assert list(by_name["mnist"].y) == [0.99, 0.97]
    assert list(by_name["fashion_mnist"].x) == ["20260101-x"]


@pytest.mark.parametrize("page", ["convolution", "home"])
def test_an_unreachable_store_gives_students_its_message_and_the_page_works(
        store, monkeypatch, tmp_path, page):
    monkeypatch.setenv("CNNVIZ_DATABASE_URL", f"sqlite:///{tmp_path}")  # a folder: no database
    at = app(page, key=ADA)
    assert any(class_ui.StoreUnavailable.student_message in c.value for c in at.caption)
    assert not at.error
    if page == "convolution":
        assert size_formula(at).splitlines()[0].endswith("= 26")  # the explorer works on


def test_sixty_banners_cost_one_read_of_the_store_per_second(monkeypatch, tmp_path):
    reads, recent = [], class_ui.Recent()
    store = class_ui.ClassStore(f"sqlite:///{tmp_path / 'class.db'}")
    monkeypatch.setattr(class_ui, "CACHE_SECONDS", 1.0)
    for _ in range(60):
        assert recent.get(store, "share", lambda: reads.append(1) or len(reads)) == 1
    monkeypatch.setattr(class_ui, "CACHE_SECONDS", 0)
    assert recent.get(store, "share", lambda: reads.append(1) or len(reads)) == 2


def test_an_unreachable_store_is_not_asked_again_for_a_while(monkeypatch, tmp_path):
    recent, calls = class_ui.Recent(), []
    store = class_ui.ClassStore(f"sqlite:///{tmp_path / 'class.db'}")
    monkeypatch.setattr(class_ui, "CACHE_SECONDS", 0)

    def down():
        calls.append(1)
        raise class_ui.StoreUnavailable("down")

    for what in ("share", "question", "share"):
        with pytest.raises(class_ui.StoreUnavailable, match="down"):
            recent.get(store, what, down)
    assert len(calls) == 1 and str(recent.down(store)) == "down"
    monkeypatch.setattr(class_ui, "DOWN_SECONDS", 0)
    recent.clear()
    assert recent.down(store) is None and recent.get(store, "share", lambda: 7) == 7


class FakeSession:
    """An AppSession as the watcher sees it: its event loop and its last client state."""

    def __init__(self):
        from streamlit.proto.ClientState_pb2 import ClientState

        self._client_state = ClientState(query_string="padding=same", page_script_hash="p1")
        self._event_loop = self  # call_soon_threadsafe runs at once here
        self._scriptrunner = None  # running nothing
        self.reruns = []

    def call_soon_threadsafe(self, callback, *args):
        callback(*args)

    def request_rerun(self, state):
        self.reruns.append((state.fragment_id, state.is_auto_rerun, state.query_string,
                            state.page_script_hash, len(state.widget_states.widgets)))


def test_the_watcher_reruns_each_connected_banner_that_drew_old_news_once(monkeypatch):
    from cnnviz.ui import class_push

    sessions = {"ada": FakeSession(), "bob": FakeSession()}
    runtime = type("Runtime", (), {"get_app_session": lambda self, i: sessions.get(i)})()
    monkeypatch.setattr(class_push.Runtime, "instance", classmethod(lambda cls: runtime))
    monkeypatch.setattr(class_push.Runtime, "exists", classmethod(lambda cls: True))
    news, watcher = [(1, None)], class_push.Watcher()
    watcher._banners = {"ada": ("frag-a", (1, None)), "bob": ("frag-b", (0, None)),
                        "gone": ("frag-c", (0, None))}
    watcher._read = lambda: news[0]
    assert watcher.tick() == 1 and "gone" not in watcher._banners  # bob drew an older share
    assert sessions["bob"].reruns == [("frag-b", True, "padding=same", "p1", 0)]
    assert watcher.tick() == 0  # nothing new: nothing rerun, however often it looks
    news[0] = (2, (7, False))
    assert watcher.tick() == 2 and watcher.tick() == 0 and watcher.pushes == 3
    assert [r[0] for r in sessions["ada"].reruns] == ["frag-a"]
    sessions["ada"]._scriptrunner = "running a page"  # may be changing page: not now
    news[0] = (3, (7, False))
    assert watcher.tick() == 2 and len(sessions["ada"].reruns) == 1
    assert watcher.tick() == 1 and len(sessions["ada"].reruns) == 1  # tried again, still busy
    sessions["ada"]._scriptrunner = None
    assert watcher.tick() == 1 and len(sessions["ada"].reruns) == 2 and watcher.tick() == 0
    watcher._banners, watcher._read = {}, lambda: 1 / 0
    assert watcher.tick() == 0  # no banner watched: the class is not even read


def test_the_watcher_outlives_a_read_that_fails():
    from cnnviz.ui import class_push

    watcher = class_push.Watcher()
    watcher._read = lambda: 1 / 0
    assert watcher._news() == ("failed", "ZeroDivisionError")
    assert not watcher.watch(lambda: 1, None)  # no Streamlit runtime here: nothing watched
