"""Training in chromium: start a short run, watch the curves grow, press Stop; three browser
contexts at once (one training, two exploring), each seeing only its own state; and a second
trainer waiting in the training queue (one slot), then leaving it."""

import re

import pytest
from playwright.sync_api import expect

from benchmarks import browser
from cnnviz import training

NUMPY = "NumPy (cnnviz.ops)"
EPOCH_IMAGES = 1000  # a run whose first epoch the test waits for: 900 images, 15 batches, not
# the page's 8,000 (113); its 100 epochs (1,500 batches) still outlast the test by far


def new_runs(runs_dir, before: set) -> list[training.SavedRun]:
    return [run for run in training.list_runs(runs_dir) if run.run_dir not in before]


@pytest.mark.parametrize("backend", ["Keras", "TensorFlow 1 graph", NUMPY])
def test_training_curves_grow_until_stop(page, app_url, runs_dir, backend, screenshot):
    before = {run.run_dir for run in training.list_runs(runs_dir)}
    browser.start_training(page, app_url, backend=backend, epochs=100,  # stopped long before
                           images=EPOCH_IMAGES)
    browser.wait_for_batches(page, 1)
    browser.wait_for_batches(page, browser.batches_seen(page) + 2)  # the live curve grows
    # an epoch checkpointed
    expect(page.locator(".st-key-live_epochs .main-svg").first).to_be_visible()
    assert browser.errors(page) == []
    browser.stop_training(page)

    expect(page.get_by_role("heading", name="Results")).to_be_visible()
    assert browser.exceptions(page) == [] and browser.errors(page) == []
    (run,) = new_runs(runs_dir, before)
    assert run.status == "stopped" and len(run.history.epochs) >= 1
    assert run.model_path is not None and run.model_path.is_file()  # the last epoch's checkpoint
    results_run = browser.widget(page, "stSelectbox", "Run").first.locator("input").input_value()
    assert "stopped" in results_run and run.token in results_run
    expect(page.get_by_text(re.compile(rf"Saved runs in {runs_dir.name}/ \(\d+\)"))).to_be_visible()
    screenshot(page, f"training-stopped-{backend.split()[0].lower()}")


def test_three_contexts_keep_their_own_state(chromium, app_url, runs_dir):
    trainer, explorer_a, explorer_b = (browser.new_page(chromium) for _ in range(3))
    try:
        before = {run.run_dir for run in training.list_runs(runs_dir)}
        browser.start_training(trainer, app_url, backend=NUMPY, epochs=100)  # runs until stopped
        # the explorers load while Ray starts the run's worker (opened one at a time after its
        # first batch, they were a third of the test); their work below is while it trains
        for explorer in (explorer_a, explorer_b):
            explorer.goto(f"{app_url}/convolution")
        browser.wait_for_batches(trainer, 1)
        for explorer in (explorer_a, explorer_b):
            browser.wait_for_app(explorer)
        browser.scrubbed(explorer_a, lambda: browser.scrub_slide(explorer_a, "stride sh"))
        browser.scrubbed(explorer_b, lambda: browser.scrub_select(explorer_b, "Padding", "same"))
        browser.wait_for_link(explorer_a, "stride_h=2")
        browser.wait_for_link(explorer_b, "padding=same")
        seen = browser.batches_seen(trainer)
        browser.wait_for_batches(trainer, seen + 1)  # training went on while the explorers worked

        assert "stride_h=2&" in explorer_a.url and "padding=valid" in explorer_a.url
        assert "stride_h=1&" in explorer_b.url and "padding=same" in explorer_b.url
        assert explorer_b.locator(browser.SCRUB).get_by_label("stride sh").input_value() == "1"
        browser.follow_menu(explorer_a, "Training")
        # not the trainer's run
        expect(explorer_a.locator(".st-key-train_start button")).to_be_enabled()
        expect(explorer_a.locator(".st-key-train_stop button")).to_be_disabled()
        expect(explorer_a.get_by_test_id("stProgress")).to_have_count(0)
        expect(trainer.locator(".st-key-train_stop button")).to_be_enabled()

        browser.stop_training(trainer)
        expect(trainer.get_by_role("heading", name="Results")).to_be_visible()
        for title in ("Home", "Training"):  # the same session reruns the training page
            browser.follow_menu(explorer_a, title)
        # runs are per session
        expect(explorer_a.get_by_role("heading", name="Results")).to_have_count(0)
        assert len(new_runs(runs_dir, before)) == 1
        for page in (trainer, explorer_a, explorer_b):
            assert browser.exceptions(page) == []
    finally:
        for page in (trainer, explorer_a, explorer_b):
            page.context.close()


def test_a_second_trainer_waits_in_the_queue_and_may_leave_it(chromium, app_url, runs_dir):
    first, second = browser.new_page(chromium), browser.new_page(chromium)
    try:
        before = {run.run_dir for run in training.list_runs(runs_dir)}
        browser.start_training(first, app_url, backend=NUMPY, epochs=100)  # the only slot
        browser.prepare_training(second, app_url, backend=NUMPY, epochs=1)  # while it starts
        browser.wait_for_batches(first, 1)
        second.locator(".st-key-train_start button").click()  # start_training's last step
        expect(second.locator(".st-key-train_stop button")).to_be_enabled()
        waiting = second.get_by_text(re.compile("you are next; it should start in about"))
        expect(waiting).to_be_visible()
        leave = second.locator(".st-key-train_stop button")
        expect(leave).to_have_text("Leave the queue")
        leave.click()
        left = second.get_by_text("You left the training queue; nothing was trained.")
        expect(left).to_be_visible()
        browser.wait_for_app(second)  # that run's end: its Start button replaces the disabled one
        expect(second.locator(".st-key-train_start button")).to_be_enabled()
        assert browser.errors(second) == []
        assert browser.batches_seen(first) >= 1
        browser.stop_training(first)
        assert [run.status for run in new_runs(runs_dir, before)] == ["stopped"]  # the first only
        for page in (first, second):
            assert browser.exceptions(page) == []
    finally:
        for page in (first, second):
            page.context.close()
