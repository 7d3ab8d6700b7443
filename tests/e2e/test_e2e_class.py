"""The class in chromium, two browsers: the teacher's link, "Show this to the class" reaching a
student's banner, "Follow the teacher", a name with markup, a quick question answered, charted and
revealed, a reload keeping the student's name. Its own server: the teacher's token and the class
store in a fresh runs folder."""

import time

import pytest
from playwright.sync_api import Page, expect

from benchmarks import browser
from benchmarks.server import streamlit_server

TOKEN = "e2e-teacher-token-0123456789abcdef"
MARKUP_NAME = "<i>Eve</i> [x](javascript:alert(1))"
BANNER_SECONDS = 10  # the banner polls every 2 s (reads cached 1 s); slack for a busy machine


@pytest.fixture(scope="module")
def class_url(chromium, tmp_path_factory) -> str:
    runs = tmp_path_factory.mktemp("class-runs")
    with streamlit_server({"CNNVIZ_RUNS_DIR": str(runs), "CNNVIZ_TEACHER_TOKEN": TOKEN,
                           "CNNVIZ_DATABASE_URL": f"sqlite:///{runs / 'class.db'}"}) as url:
        yield url


@pytest.fixture
def teacher(chromium, class_url) -> Page:
    page = browser.new_page(chromium)
    browser.open_page(page, f"{class_url}/class?token={TOKEN}")
    yield page
    page.context.close()


def shown_within(page: Page, text: str, seconds: float) -> float:
    """Seconds until `text` is visible on `page` (AssertionError after `seconds`)."""
    start = time.perf_counter()
    expect(page.get_by_text(text).first).to_be_visible(timeout=seconds * 1000)
    return time.perf_counter() - start


def test_no_token_or_a_wrong_one_shows_nothing_of_the_class(page, class_url):
    for address in (f"{class_url}/class", f"{class_url}/class?token=wrong-{TOKEN}"):
        browser.open_page(page, address)
        expect(page.get_by_text("This page is the teacher's")).to_be_visible()
        expect(page.get_by_text("Students connected")).to_have_count(0)
        assert "token" not in page.url
    links = page.get_by_test_id("stSidebarNav").get_by_role("link").all_inner_texts()
    assert not [link for link in links if "Class" in link]


def test_share_follow_name_and_question_between_teacher_and_student(teacher, page, class_url,
                                                                    screenshot):
    assert "token" not in teacher.url and browser.errors(teacher) == []
    student = page
    browser.open_page(student, class_url)
    student.get_by_text("Your name in the class").click()
    student.get_by_label("Your name").fill(MARKUP_NAME)
    student.get_by_role("button", name="Save name").click()
    expect(student.get_by_text(f"You are {MARKUP_NAME}.", exact=True)).to_be_visible()
    browser.open_page(student, class_url)  # a reload: a new session, the same browser (cookie)
    student.get_by_text("Your name in the class").click()
    expect(student.get_by_text(f"You are {MARKUP_NAME}.", exact=True)).to_be_visible()

    browser.follow_menu(teacher, "Convolution")
    browser.scrub_select(teacher, "Padding", "same")
    browser.wait_for_link(teacher, "padding=same")
    teacher.get_by_role("button", name="Show this to the class").click()
    shown_within(student, "Your teacher shows: Convolution: Sobel left", BANNER_SECONDS)
    expect(student.get_by_text("same padding").first).to_be_visible()
    student.get_by_text("Follow the teacher").click()
    expect(student.get_by_role("heading", name="Convolution", level=1)).to_be_visible()

    browser.follow_menu(teacher, "Pooling")
    teacher.get_by_role("button", name="Show this to the class").click()
    expect(student.get_by_role("heading", name="Pooling", level=1)).to_be_visible(
        timeout=BANNER_SECONDS * 1000)

    teacher.get_by_role("link", name="Class page").click()
    browser.wait_for_app(teacher)
    teacher.get_by_label("Question").fill("28x28 input, 5x5 kernel, stride 2, valid: size?")
    teacher.get_by_label("The right answer (may wait until you reveal it)").fill("12")
    teacher.get_by_role("button", name="Ask").click()
    shown_within(student, "Quick question:", BANNER_SECONDS)
    student.get_by_label("Your answer (a number)").fill("12")
    student.get_by_role("button", name="Answer").click()
    shown_within(teacher, "(1 answer(s))", BANNER_SECONDS)
    teacher.get_by_role("button", name="Reveal the answer").click()
    shown_within(student, "was right", BANNER_SECONDS)
    expect(student.get_by_role("heading", name="Pooling", level=1)).to_be_visible()  # page stays
    assert browser.exceptions(student) == browser.exceptions(teacher) == []
    screenshot(teacher, "class-teacher")
    screenshot(student, "class-student")
