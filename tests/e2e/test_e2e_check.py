"""The Check page in chromium: a right 0-conv_forward.py passes; a wrong one (kernel flipped)
shows the diagnosis and heatmaps; a right 5-lenet5.py (Keras) passes, and one whose conv1 has
padding 'valid' gets the padding diagnosis. All graded in the server's sandbox through its
queue."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from benchmarks import browser

COURSE = Path(__file__).resolve().parents[1] / "fixtures" / "course"
RIGHT = (COURSE / "0-conv_forward.py").read_bytes()
FLIPPED = RIGHT.replace(b"window * W[:, :, :, k]", b"window * W[::-1, ::-1, :, k]")
REPORT_MS = 120_000  # the queue's place, then the sandboxed check, on a loaded machine
KERAS_REPORT_MS = 300_000  # task 5's child imports TensorFlow and builds the model (~10-30 s)


def check_file(page: Page, app_url: str, content: bytes, name: str = "0-conv_forward.py",
               task: str = "conv_forward", report_ms: int = REPORT_MS) -> None:
    browser.open_page(page, f"{app_url}/check")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": name, "mimeType": "text/x-python", "buffer": content}])
    expect(page.get_by_text(f"Task found: {name} ({task})")).to_be_visible()
    browser.wait_for_app(page, settle_ms=500)
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page.get_by_role("heading", name="Report")).to_be_visible(timeout=report_ms)
    browser.wait_for_app(page)


def test_a_right_solution_passes_in_the_browser(page, app_url):
    check_file(page, app_url, RIGHT)
    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("cases pass")
    assert browser.errors(page) == [] and browser.exceptions(page) == []


def test_a_flipped_kernel_is_diagnosed_in_the_browser(page, app_url, screenshot):
    check_file(page, app_url, FLIPPED)
    expect(page.get_by_test_id("stAlertContentWarning").first).to_contain_text(
        "Most likely the kernel is flipped")
    expect(page.locator(".main-svg").first).to_be_visible()  # the heatmaps
    assert browser.exceptions(page) == []
    screenshot(page, "page-check-flipped-kernel")


@pytest.mark.tf
def test_a_right_keras_lenet5_passes_in_the_browser(page, app_url):
    check_file(page, app_url, (COURSE / "5-lenet5.py").read_bytes(), "5-lenet5.py", "lenet5",
               KERAS_REPORT_MS)
    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text(
        re.compile(r"All \d+ points pass"))  # tasks 4, 5 count points
    expect(page.get_by_test_id("stAlertContentWarning")).to_have_count(0)
    assert browser.errors(page) == [] and browser.exceptions(page) == []


@pytest.mark.tf
def test_a_keras_lenet5_with_valid_conv1_gets_the_padding_diagnosis(page, app_url, screenshot):
    check_file(page, app_url, (COURSE / "5-lenet5-valid_conv1.py").read_bytes(), "5-lenet5.py",
               "lenet5", KERAS_REPORT_MS)
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text(
        re.compile(r"\d+ of \d+ points pass"))
    diagnosis = page.get_by_test_id("stAlertContentWarning").first
    expect(diagnosis).to_contain_text("conv1 has padding='valid'")
    expect(diagnosis).to_contain_text("44,426 parameters instead of 61,706")
    expect(diagnosis).to_contain_text("Give the first Conv2D padding='same'")
    assert browser.exceptions(page) == []
    screenshot(page, "page-check-keras-valid-conv1")
