"""Your own Keras model on the Draw page, in chromium: a good one reads the digit layer by layer, a
bad one is refused with its message and the page keeps working."""

import pytest
from playwright.sync_api import Page, expect

from benchmarks import browser
from tests import keras_uploads

pytestmark = pytest.mark.tf


def upload_model(page: Page, app_url: str, name: str, content: bytes) -> None:
    browser.open_page(page, f"{app_url}/draw")
    browser.choose_radio(page, "Input", "MNIST sample")
    browser.wait_for_app(page)
    browser.choose_radio(page, "Model", "Your Keras model")
    browser.wait_for_app(page)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": content}])
    expect(page.get_by_test_id("stFileUploader").filter(has_text=name)).to_be_visible()
    browser.wait_for_app(page, settle_ms=1000)


def test_uploaded_model_reads_the_digit_layer_by_layer(page, app_url, screenshot):
    upload_model(page, app_url, "lenet.keras", keras_uploads.trained_lenet())
    expect(page.get_by_role("heading", name="The network reads")).to_be_visible()
    for tab in ("conv1", "pool2", "fc1", "saliency"):
        expect(page.get_by_role("tab", name=tab, exact=True)).to_be_visible()
    assert browser.errors(page) == [] and browser.exceptions(page) == []
    screenshot(page, "draw-uploaded-model")


def test_uploaded_model_with_a_lambda_layer_is_refused(page, app_url):
    upload_model(page, app_url, "lambda.keras", keras_uploads.with_lambda())
    refusal = page.get_by_test_id("stAlertContentError").filter(has_text="Lambda layer")
    expect(refusal).to_have_count(1)
    assert browser.exceptions(page) == []
    browser.choose_radio(page, "Model", "Pretrained LeNet-5")
    browser.wait_for_app(page)
    expect(page.get_by_role("heading", name="The network reads")).to_be_visible()
