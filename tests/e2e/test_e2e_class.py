"""The class in chromium through `cnnviz app --replicas 2` (HAProxy, two Streamlit processes, one
Ray head): a teacher and a student in separate browser contexts, the student sent to the replica
the teacher is not on, so every step crosses replicas through the class store.

The teacher's link, and no class data without it (no token, a wrong one, an old one from before a
restart); "Show this to the class" reaching the student's banner, "Follow the teacher" moving the
student's view; a quick question answered, charted on the Class page and revealed; a name with
markup shown literally on the Class page and kept across a reload onto the other replica; pause
holding the student's Start, resume starting it, the teacher's Stop ending it. One server for the
module, in a fresh runs folder with its own class store; the last test restarts the app (as one
process) on the same folder.
"""

import contextlib
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from benchmarks import browser
from benchmarks.server import started_replicas, started_server
from cnnviz import training
from cnnviz.serving.replicas import haproxy_binary
from tests import installed

TOKEN = "e2e-teacher-token-0123456789abcdef"
MARKUP_NAME = "<script>**bold**[x](javascript:alert(1))"  # 40 characters: NAME_MAX
REPLICA_COOKIE = "CNNVIZ_REPLICA"  # HAProxy's sticky cookie (deploy/haproxy.cfg)
BANNER_SECONDS = 10  # the Class page polls every 2 s (reads cached 0.25 s); slack for busy cores
PUSHED_SECONDS = 5  # news reaches a banner within ~0.3 s and a rerun, pushed by the server; the
# banner's own timer is 10 s, so the four waits for it passing show the browser draws pushed reruns
REFUSED = "This page is the teacher's"
PAUSED = "paused by your teacher"
ANSWERS_JS = """() => {
    const plot = document.querySelector('.st-key-class_answers .js-plotly-plot');
    return plot && plot.data && plot.data.length ? plot.data[0].x : [];
}"""


class Cluster:
    """`cnnviz app --replicas 2` on a free port; restarted, its runs folder and class store are
    kept (the app draws a new teacher token when none is set)."""

    def __init__(self, runs):
        self.env = {"CNNVIZ_RUNS_DIR": str(runs), "CNNVIZ_MAX_RUNS": "1",
                    "CNNVIZ_DATABASE_URL": f"sqlite:///{runs / 'class.db'}"}
        self._stack = contextlib.ExitStack()
        self.url = ""

    def start(self, token: str) -> None:
        env = {**self.env, "CNNVIZ_TEACHER_TOKEN": token}
        self.url = self._stack.enter_context(started_replicas(2, env)).url

    def restart(self) -> None:
        """Stops everything, then starts the app again without a token set (a new random one),
        as one process: what the token depends on is the restart, not the replicas, and one
        process starts quicker."""
        self.stop()
        self._stack = contextlib.ExitStack()
        env = {**self.env, "CNNVIZ_TEACHER_TOKEN": ""}
        self.url = self._stack.enter_context(started_server(env)).url

    def stop(self) -> None:
        self._stack.close()


@pytest.fixture(scope="module")
def cluster(chromium, tmp_path_factory) -> Cluster:
    try:
        haproxy_binary()
    except FileNotFoundError:
        installed.need(False, "haproxy", "haproxy")
    cluster = Cluster(tmp_path_factory.mktemp("class-runs"))
    try:
        cluster.start(TOKEN)
        yield cluster
    finally:
        cluster.stop()


def replica_of(page: Page) -> str:
    """The replica HAProxy keeps this browser on ("r1" or "r2")."""
    return next(c["value"] for c in page.context.cookies() if c["name"] == REPLICA_COOKIE)


def send_to(page: Page, replica: str, url: str) -> None:
    """Sends this browser's next requests to `replica` (as if HAProxy had picked it)."""
    page.context.add_cookies([{"name": REPLICA_COOKIE, "value": replica, "url": url}])


def other(replica: str) -> str:
    return {"r1": "r2", "r2": "r1"}[replica]


def new_page(chromium) -> Page:
    """A browser context of its own; an alert() on it would be recorded in page.dialogs."""
    page = browser.new_page(chromium)
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    return page


@pytest.fixture
def teacher(chromium, cluster) -> Page:
    page = new_page(chromium)
    browser.open_page(page, f"{cluster.url}/class?token={TOKEN}")
    assert "token" not in page.url  # the token left the address bar (a projector)
    expect(page.get_by_text("Students connected")).to_be_visible()
    yield page
    page.context.close()


@pytest.fixture
def student(chromium, cluster, teacher) -> Page:
    """A student's browser on the replica the teacher is not on."""
    page = new_page(chromium)
    send_to(page, other(replica_of(teacher)), cluster.url)
    browser.open_page(page, cluster.url)
    assert replica_of(page) != replica_of(teacher)
    yield page
    page.context.close()


def shown_within(page: Page, text: str, seconds: float = BANNER_SECONDS) -> None:
    """AssertionError unless `text` is visible on `page` within `seconds`."""
    expect(page.get_by_text(text).first).to_be_visible(timeout=seconds * 1000)


def refused(page: Page, address: str) -> None:
    """`address` shows the refusal and nothing of the class, and no token stays in the bar."""
    browser.open_page(page, address)
    expect(page.get_by_text(REFUSED)).to_be_visible()
    for class_data in ("Students connected", "Runs (", "Ask the class"):
        expect(page.get_by_text(class_data)).to_have_count(0)
    assert "token" not in page.url and browser.exceptions(page) == []


def test_no_token_or_a_wrong_one_shows_nothing_of_the_class_on_either_replica(page, cluster):
    for replica, address in (("r1", f"{cluster.url}/class"),
                             ("r2", f"{cluster.url}/class?token=wrong-{TOKEN}")):
        send_to(page, replica, cluster.url)
        refused(page, address)
        assert replica_of(page) == replica
    links = page.get_by_test_id("stSidebarNav").get_by_role("link").all_inner_texts()
    assert not [link for link in links if "Class" in link]


def share(teacher: Page) -> None:
    """The teacher's "Show this to the class", until the share is stored (the toast)."""
    teacher.get_by_role("button", name="Show this to the class").click()
    expect(teacher.get_by_text("Shown to the class").first).to_be_visible()


def test_share_follow_and_a_question_answered_charted_and_revealed(teacher, student,
                                                                   screenshot):
    browser.follow_menu(teacher, "Convolution")
    browser.scrub_select(teacher, "Padding", "same")
    browser.wait_for_link(teacher, "padding=same")
    share(teacher)
    shown_within(student, "Your teacher shows: Convolution: Sobel left", PUSHED_SECONDS)
    expect(student.get_by_text("same padding").first).to_be_visible()
    expect(student.get_by_role("heading", name="cnnviz", level=1)).to_be_visible()  # not moved
    student.get_by_text("Follow the teacher").click()
    expect(student.get_by_role("heading", name="Convolution", level=1)).to_be_visible()
    assert "padding=same" in student.url

    browser.follow_menu(teacher, "Pooling")
    share(teacher)
    shown_within(student, "Your teacher shows: Pooling", PUSHED_SECONDS)
    # a follower moves with each new share (a page load: the default timeout)
    expect(student.get_by_role("heading", name="Pooling", level=1)).to_be_visible()

    teacher.get_by_role("link", name="Class page").click()
    browser.wait_for_app(teacher)
    teacher.get_by_label("Question").fill("28x28 input, 5x5 kernel, stride 2, valid: size?")
    teacher.get_by_label("The right answer (may wait until you reveal it)").fill("12")
    teacher.get_by_role("button", name="Ask").click()
    shown_within(student, "Quick question:", PUSHED_SECONDS)
    student.get_by_label("Your answer (a number)").fill("13")
    student.get_by_role("button", name="Answer").click()
    # the banner's lasting line (the "is in" success lasts until the banner's next refresh,
    # at once when a refresh waited behind the answer on a busy machine)
    shown_within(student, "Your answer: 13 (answer again to change it)")
    student.get_by_label("Your answer (a number)").fill("12")  # a new answer replaces the old
    student.get_by_role("button", name="Answer").click()
    shown_within(teacher, "(1 answer(s))")
    teacher.wait_for_function(f"() => JSON.stringify(({ANSWERS_JS})()) === '[\"12\"]'",
                              timeout=BANNER_SECONDS * 1000)  # the chart: one bar, "12"
    teacher.get_by_role("button", name="Reveal the answer").click()
    shown_within(student, "was right", PUSHED_SECONDS)
    expect(student.get_by_role("heading", name="Pooling", level=1)).to_be_visible()  # page stays
    assert browser.exceptions(student) == browser.exceptions(teacher) == []
    screenshot(teacher, "class-teacher")
    screenshot(student, "class-student")


def name_student(page: Page, name: str) -> None:
    page.get_by_text("Your name in the class").click()
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_text(f"You are {name}.", exact=True)).to_be_visible()


def save_settings(teacher: Page, paused: bool) -> None:
    """The Class page's training settings: pause on or off, saved for every replica."""
    toggle = teacher.get_by_label("Pause training (nothing new starts)")
    if toggle.is_checked() != paused:
        teacher.get_by_text("Pause training (nothing new starts)").click()
    teacher.get_by_role("button", name="Save").click()
    shown_within(teacher, "Saved for every replica.")


def test_pause_holds_a_start_resume_trains_it_and_the_teacher_stops_it(cluster, teacher,
                                                                       student, screenshot):
    name_student(student, MARKUP_NAME)
    home = replica_of(student)
    send_to(student, other(home), cluster.url)  # a reload lands on the other replica
    browser.open_page(student, cluster.url)
    assert replica_of(student) == other(home)
    student.get_by_text("Your name in the class").click()
    expect(student.get_by_text(f"You are {MARKUP_NAME}.", exact=True)).to_be_visible()
    send_to(student, home, cluster.url)  # back away from the teacher's replica

    save_settings(teacher, paused=True)
    # NumPy (no TensorFlow in the worker), 8,000 images a epoch: stopped long before it ends
    browser.prepare_training(student, cluster.url, backend="NumPy (cnnviz.ops)", epochs=100)
    assert replica_of(student) != replica_of(teacher)
    student.locator(".st-key-train_start button").click()
    shown_within(student, PAUSED)
    time.sleep(3)  # held: no run starts while paused (the held Start polls every second)
    expect(student.get_by_text(PAUSED).first).to_be_visible()
    expect(student.get_by_test_id("stProgress")).to_have_count(0)
    expect(student.locator(".st-key-train_stop button")).to_have_text("Leave the queue")

    save_settings(teacher, paused=False)
    browser.wait_for_batches(student, 1)  # resumed: the held Start trains
    expect(student.get_by_text(PAUSED)).to_have_count(0)
    expect(student.get_by_text(f"Training as {MARKUP_NAME}", exact=False)).to_be_visible()

    live = teacher.get_by_text(f"{MARKUP_NAME}: ", exact=False)  # the Class page's live run
    expect(live).to_be_visible(timeout=BANNER_SECONDS * 1000)
    main = teacher.get_by_test_id("stMain")
    expect(main.locator("script, strong:text-is('bold'), a[href^='javascript']")).to_have_count(0)
    teacher.locator("[class*='st-key-class_stop_'] button").click()
    shown_within(student, "Stopped by your teacher", 30)
    browser.wait_for_app(student)  # that run's end: its Start button replaces the disabled one
    expect(student.locator(".st-key-train_start button")).to_be_enabled()
    shown_within(teacher, "No run failed or was interrupted.")
    runs = training.list_runs(Path(cluster.env["CNNVIZ_RUNS_DIR"]))
    assert [run.status for run in runs] == ["stopped"]  # the student's run, and no other
    assert teacher.dialogs == student.dialogs == []  # no alert() ran
    assert browser.exceptions(student) == browser.exceptions(teacher) == []
    screenshot(teacher, "class-teacher-stopped")


def test_an_old_token_from_before_a_restart_shows_nothing_of_the_class(chromium, cluster):
    """The last test of the module: the app restarts with a new random token; the class (the
    student's name) survives in the store, the teacher's old link does not."""
    page = new_page(chromium)
    try:
        browser.open_page(page, cluster.url)
        name_student(page, "Ada before the restart")
        cluster.restart()
        refused(page, f"{cluster.url}/class?token={TOKEN}")
        browser.open_page(page, cluster.url)  # the same browser (its key in a cookie)
        page.get_by_text("Your name in the class").click()
        expect(page.get_by_text("You are Ada before the restart.", exact=True)).to_be_visible()
    finally:
        page.context.close()
