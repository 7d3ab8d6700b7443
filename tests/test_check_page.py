"""The Check page under AppTest: a right file passes, a wrong one is diagnosed with heatmaps, bad
files get a clear message and are never graded; the result is kept for the class when the
browser has a name. Checks run in the real sandbox through a queue of this test's own."""

import dataclasses
import re
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.check import diagnose, queue, sandbox, solution
from cnnviz.classroom import ClassStore, StoreUnavailable, checks, students

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "check.py")
FIXTURES = ROOT / "tests" / "fixtures" / "course"
TIMEOUT = 60
RIGHT = (FIXTURES / "0-conv_forward.py").read_bytes()
FLIPPED = RIGHT.replace(b"window * W[:, :, :, k]", b"window * W[::-1, ::-1, :, k]")
KEY = "browser-key-000000"


@pytest.fixture(autouse=True)
def checker(monkeypatch):
    """A queue of one slot for this test; the sandbox must start (else the test is skipped)."""
    ok, reason = sandbox.available()
    if not ok:
        pytest.skip(f"the sandbox cannot start here: {reason}")
    checks_queue = queue.CheckQueue(slots=1)
    monkeypatch.setattr(queue, "shared", lambda: checks_queue)
    monkeypatch.setattr(queue, "SERVER_OPTIONS", dataclasses.replace(queue.SERVER_OPTIONS,
                                                                     random=2))
    return checks_queue


def upload(name: str, data: bytes, **session) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    for key, value in session.items():
        at.session_state[key] = value
    at.run()
    return at.file_uploader(key="check_upload").upload(name, data, "text/x-python").run()


def check(at: AppTest) -> AppTest:
    """Press Check, then rerun as the page's polling would until the report is drawn."""
    return check_after(at.button(key="check_run").click().run())


def check_after(at: AppTest) -> AppTest:
    """Rerun as the page's polling would until the pending check's report is drawn."""
    deadline = time.monotonic() + TIMEOUT
    while "check_ticket" in at.session_state and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    assert not at.exception and "check_result" in at.session_state
    return at


def texts(at: AppTest, element: str) -> list[str]:
    """The elements' text as shown: Markdown's backslash escapes removed."""
    return [re.sub(r"\\(.)", r"\1", item.value) for item in getattr(at, element)]


def check_button(at: AppTest) -> list:
    return [button for button in at.button if button.key == "check_run"]


def test_a_right_conv_forward_passes():
    at = upload("0-conv_forward.py", RIGHT)
    assert "Task found: 0-conv_forward.py (conv_forward)" in texts(at, "markdown")
    at = check(at)
    assert texts(at, "success") == ["All 6 cases pass."]
    assert not at.error and not at.warning


def test_a_flipped_kernel_is_diagnosed_with_heatmaps():
    at = check(upload("0-conv_forward.py", FLIPPED))
    assert texts(at, "error") == ["0 of 6 cases pass."]
    diagnosis = " ".join(texts(at, "warning"))
    assert f"Most likely {diagnose.TEXTS['kernel_flipped']}" in diagnosis
    charts = at.get("plotly_chart")
    assert len(charts) == 3  # the first failing cases, one output each


def test_a_syntax_error_is_shown_as_code_and_not_graded(checker):
    at = upload("0-conv_forward.py", b"def conv_forward(A_prev, W:\n    return 1\n")
    assert texts(at, "error") == ["Python cannot read your file: fix the syntax and check "
                                  "again."]
    assert any("cannot be graded: Python cannot read it" in t and "line 1" in t
               for t in texts(at, "code"))
    assert not check_button(at)
    assert checker.waiting == 0 and checker.running == 0


def test_a_file_that_is_not_utf8_is_refused():
    at = upload("0-conv_forward.py", "# é\ndef conv_forward(): pass\n".encode("latin-1"))
    (error,) = texts(at, "error")
    assert "is not UTF-8 text (byte 2)" in error and "save it as UTF-8" in error
    assert not check_button(at)


def test_pasted_code_without_a_course_function_says_what_to_change():
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    at.radio(key="check_mode").set_value("Paste the code").run()
    at.text_area(key="check_paste").input("def convolve(x):\n    return x\n").run()
    (error,) = texts(at, "error")
    assert "defines none of the course's functions" in error and "choose the task" in error


def test_an_uploaded_name_is_never_markdown():
    name = "[click](http://evil.example).py"
    at = upload(name, b"\xff")
    (error,) = at.error
    assert name in texts(at, "error")[0] and "\\[click\\]\\(http" in error.value
    at = check(upload(name, RIGHT))
    assert "Last check: solution.py" in texts(at, "caption")


def test_the_result_is_kept_with_the_student_name(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'class.db'}"
    monkeypatch.setenv("CNNVIZ_DATABASE_URL", url)
    store = ClassStore(url)
    students.join(store, KEY, "Ada")
    check(upload("0-conv_forward.py", FLIPPED, _class_browser_key=KEY))
    (row,) = checks.latest(store)
    assert (row.name, row.task, row.passed, row.total) == ("Ada", "conv_forward", 0, 6)
    assert row.summary.startswith("Most likely the kernel is flipped")


def test_a_class_that_is_down_costs_the_student_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_DATABASE_URL", f"sqlite:///{tmp_path / 'class.db'}")
    tried = []

    def down(*args):
        tried.append(args[1:3])
        raise StoreUnavailable("The class database cannot be reached")

    monkeypatch.setattr(checks, "record", down)
    at = check(upload("0-conv_forward.py", RIGHT, _class_browser_key=KEY))
    assert texts(at, "success") == ["All 6 cases pass."] and not at.error
    assert tried == [(KEY, "conv_forward")]


def test_a_waiting_check_shows_its_place(checker):
    gate = threading.Event()
    checker.submit(lambda: gate.wait(TIMEOUT))  # another student's check holds the slot
    while checker.running == 0:
        time.sleep(0.01)
    at = upload("0-conv_forward.py", RIGHT)
    at.button(key="check_run").click().run()
    assert "Waiting: place 1 in the queue (yours is next)." in texts(at, "info")
    assert at.button(key="check_run").disabled  # one check at a time per student
    gate.set()
    assert texts(check_after(at), "success") == ["All 6 cases pass."]


def test_a_page_far_back_polls_less_often_until_it_nears_the_front(checker):
    gate = threading.Event()
    checker.submit(lambda: gate.wait(TIMEOUT))  # another student's check holds the slot
    ahead = [checker.submit(lambda: None) for _ in range(11)]
    while checker.running == 0:
        time.sleep(0.01)
    at = upload("0-conv_forward.py", RIGHT)
    at.button(key="check_run").click().run()
    assert "Waiting: place 12 in the queue (11 files are ahead of yours)." in texts(at, "info")
    assert at.session_state["check_poll"] == queue.poll_seconds(12) > 1.0
    gate.set()
    for ticket in ahead:
        assert ticket.wait(TIMEOUT)
    at.run()  # (the poll's rerun) its check is next or being checked: every second
    assert at.session_state["check_poll"] == 1.0
    assert texts(check_after(at), "success") == ["All 6 cases pass."]


def test_a_full_queue_says_try_again(monkeypatch):
    monkeypatch.setattr(queue, "shared", lambda: queue.CheckQueue(slots=1, max_waiting=0))
    at = upload("0-conv_forward.py", RIGHT)
    at.button(key="check_run").click().run()
    (warning,) = texts(at, "warning")
    assert "The checker is busy" in warning and "Try again in a minute" in warning
    assert "check_ticket" not in at.session_state and not at.exception


def test_a_file_too_large_is_refused_before_it_is_read():
    at = upload("0-conv_forward.py", b"#" * (solution.MAX_SOLUTION_BYTES + 1))
    (error,) = texts(at, "error")
    assert "is 1.0 MiB" in error and "up to 1024 KiB" in error
    assert not check_button(at)


def test_without_the_sandbox_the_page_grades_nothing(monkeypatch):
    monkeypatch.setattr(sandbox, "available", lambda: (False, "bwrap not found"))
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    (error,) = texts(at, "error")
    assert "cannot run on this server: bwrap not found" in error
    assert not at.get("file_uploader") and not at.text_area
