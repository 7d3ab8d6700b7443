"""The Check page in chromium: a right 0-conv_forward.py passes; a wrong one (kernel flipped)
shows the diagnosis and heatmaps; both graded in the server's sandbox through its queue."""

from pathlib import Path

from playwright.sync_api import Page, expect

from benchmarks import browser

RIGHT = (Path(__file__).resolve().parents[1] / "fixtures" / "course" / "0-conv_forward.py"
         ).read_bytes()
FLIPPED = RIGHT.replace(b"window * W[:, :, :, k]", b"window * W[::-1, ::-1, :, k]")
REPORT_MS = 120_000  # the queue's place, then the sandboxed check, on a loaded machine


def check_file(page: Page, app_url: str, content: bytes) -> None:
    browser.open_page(page, f"{app_url}/check")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": "0-conv_forward.py", "mimeType": "text/x-python", "buffer": content}])
    expect(page.get_by_text("Task found: 0-conv_forward.py (conv_forward)")).to_be_visible()
    browser.wait_for_app(page, settle_ms=500)
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page.get_by_role("heading", name="Report")).to_be_visible(timeout=REPORT_MS)
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
