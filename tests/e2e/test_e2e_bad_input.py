"""Bad input in chromium: each is answered by a clear message, with no traceback and the app still
working. The bad files are generated here, in temporary folders."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from benchmarks import browser
from cnnviz import data


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def huge_png(side: int = 20000) -> bytes:
    """A valid side x side 1-bit black PNG (a few kB: its rows compress to nothing)."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload)))

    row = b"\0" * (1 + (side + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


def animated_gif() -> bytes:
    frames = [Image.fromarray(np.full((64, 64), value, np.uint8)) for value in (0, 255)]
    frames[0].paste(255, (28, 10, 36, 54))  # a 1 on the first frame
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100,
                   loop=0)
    return buffer.getvalue()


def sixteen_bit_png() -> bytes:
    pixels = np.zeros((64, 64), np.uint16)
    pixels[10:54, 28:36] = 65535
    image = Image.fromarray(pixels)  # mode I;16
    assert image.mode == "I;16"
    return png_bytes(image)


DIGIT = png_bytes(Image.fromarray(np.pad(np.full((44, 8), 255, np.uint8), ((10, 10), (28, 28)))))
BAD_FILES = {  # name -> (bytes, words of the error message that refuses it)
    "notes.png": (b"these are notes, not an image\n" * 40, "not an image"),
    "truncated.png": (DIGIT[: len(DIGIT) // 2], "truncated"),
    "huge.png": (huge_png(), "too large"),
}
# read, with a note
ODD_FILES = {"animated.gif": animated_gif(), "sixteen-bit.png": sixteen_bit_png()}


def upload(page: Page, name: str, content: bytes) -> None:
    """Upload a file and wait for the rerun it triggers once the upload is done."""
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": content}])
    expect(page.get_by_test_id("stFileUploader").filter(has_text=name)).to_be_visible()
    browser.wait_for_app(page, settle_ms=500)


def assert_working(page: Page) -> None:
    assert browser.exceptions(page) == []
    expect(page.get_by_test_id("stSidebarNav")).to_be_visible()


# The maps' cells as painted (paint.js)
MAPS_JS = f"() => document.querySelector('{browser.SCRUB} .maps canvas.cells').toDataURL()"


@pytest.mark.parametrize("value", ["abc", "nan", "1e999", "", "<img src=x onerror=alert(1)>"])
def test_kernel_cell_refused_and_last_kernel_kept(page, app_url, value):
    browser.open_page(page, f"{app_url}/convolution")
    scrub = page.locator(browser.SCRUB)
    before, steps = page.evaluate(MAPS_JS), page.get_by_test_id("stMarkdown").all_inner_texts()
    cell = scrub.get_by_label("kernel row 2 column 2")
    cell.fill(value)
    cell.press("Enter")
    expect(scrub.locator(".message")).to_contain_text("is not a finite number")
    expect(scrub.locator(".message")).to_contain_text("The last good kernel stays")
    expect(cell).to_have_attribute("aria-invalid", "true")
    assert page.evaluate(MAPS_JS) == before  # the maps of the last good kernel
    page.wait_for_timeout(500)  # longer than the settle time: nothing is sent
    browser.wait_for_app(page)
    assert page.get_by_test_id("stMarkdown").all_inner_texts() == steps
    assert page.locator("img[src=x]").count() == 0  # the cell's text is never markup
    cell.fill("2")
    cell.press("Enter")  # a good number is taken again
    expect(scrub.locator(".message")).to_have_text("")
    page.wait_for_function(f"() => document.querySelector('{browser.SCRUB} .maps .labels')"
                           ".children[0].textContent === '1: Sobel left (edited)'")
    assert_working(page)


def test_kernel_larger_than_padded_image_explained(page, app_url):
    browser.open_page(page, f"{app_url}/convolution")
    browser.choose_radio(page, "Source", "5x5 course grid")
    browser.wait_for_app(page)
    # the largest
    browser.widget(page, "stSlider", "Kernel size").get_by_role("slider").press("End")
    browser.wait_for_app(page)
    expect(page.get_by_test_id("stAlertContentError").filter(has_text="kernel").first).to_be_visible()
    expect(page.locator(f"{browser.SCRUB} .maps .main-svg").first).to_be_visible()  # last good
    assert page.locator(f"{browser.SCRUB} .kernel input").count() == 9  # the last good 3x3
    assert_working(page)


def test_stride_zero_refused(page, app_url):
    browser.open_page(page, f"{app_url}/convolution?stride_h=0")
    expect(page.get_by_text("stride_h=0 is not a valid setting")).to_be_visible()
    assert "stride_h=1&" in page.url
    stride = page.locator(browser.SCRUB).get_by_label("stride sh")
    browser.scrub_slide(page, "stride sh", 2, "ArrowLeft")  # the slider stops at 1
    assert stride.input_value() == "1"
    assert_working(page)


@pytest.mark.parametrize("where", ["convolution", "draw"])
def test_uploads_refused_or_read_with_note(page, app_url, where, screenshot):
    browser.open_page(page, f"{app_url}/{where}")
    if where == "draw":
        browser.choose_radio(page, "Input", "Upload a photo")
    else:
        browser.choose_radio(page, "Source", "upload")
    browser.wait_for_app(page)
    for name, (content, words) in BAD_FILES.items():
        upload(page, name, content)
        expect(page.get_by_test_id("stAlertContentError").filter(has_text=words)).to_have_count(1)
        assert_working(page)
    for name, content in ODD_FILES.items():
        upload(page, name, content)
        expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
        assert_working(page)
        if where == "draw":
            expect(page.get_by_role("heading", name="The network reads")).to_be_visible()
        else:
            maps = page.locator(f"{browser.SCRUB}[data-drawn] .maps .main-svg")  # drawn by the
            expect(maps.first).to_be_visible()  # scrub component from the uploaded image
    screenshot(page, f"upload-{where}")


def test_upload_over_the_cap_refused_by_the_uploader(page, app_url):
    browser.open_page(page, f"{app_url}/draw")
    browser.choose_radio(page, "Input", "Upload a photo")
    browser.wait_for_app(page)
    upload(page, "big.png", b"\0" * (11 * 2**20))
    expect(page.get_by_text("MB or smaller")).to_be_visible()
    assert_working(page)


@pytest.fixture(scope="module")
def broken_files_url(chromium, tmp_path_factory):
    """A second server whose model file is corrupt and whose MNIST file is truncated."""
    folder = tmp_path_factory.mktemp("broken")
    keras_datasets = folder / "home" / ".keras" / "datasets"
    keras_datasets.mkdir(parents=True)
    mnist = data.EMBEDDED_MNIST.read_bytes()
    # found before the embedded one
    (keras_datasets / "mnist.npz").write_bytes(mnist[: len(mnist) // 3])
    (folder / "model.keras").write_bytes(b"PK\x03\x04 not really a zip archive" * 10)
    env = {"HOME": str(folder / "home"), "CNNVIZ_DRAW_MODEL": str(folder / "model.keras"),
           "CNNVIZ_RUNS_DIR": str(folder / "runs")}
    with browser.streamlit_server(env) as url:
        yield url


@pytest.mark.parametrize("path, message", [("", "mnist.npz"), ("convolution", "mnist.npz"),
                                           ("training", "mnist.npz"),
                                           ("draw", "model could not be loaded")])
def test_broken_files_explained(page, broken_files_url, path, message):
    browser.open_page(page, f"{broken_files_url}/{path}")
    alerts = page.get_by_test_id("stAlert").all_inner_texts()
    assert any(message in alert for alert in alerts), alerts
    assert_working(page)
