import time, tempfile, json
from pathlib import Path
from playwright.sync_api import sync_playwright
from benchmarks import browser
from benchmarks.browser_latency import convolution_changes, change_latencies
from benchmarks.classroom_train import WATCH_JS
N = 6
with tempfile.TemporaryDirectory() as runs, sync_playwright() as pw:
    c = browser.launch_chromium(pw)
    with browser.streamlit_server({"CNNVIZ_RUNS_DIR": runs}) as url:
        pages = [browser.new_page(c) for _ in range(N)]
        for p in pages:
            browser.prepare_training(p, url, backend="NumPy (cnnviz.ops)", epochs=3, images=3000)
            p.evaluate(WATCH_JS)
        ex = browser.new_page(c); browser.open_page(ex, f"{url}/convolution")
        changes = iter(convolution_changes(ex) * 100)
        print("idle", [round(x, 2) for x in change_latencies(ex, changes, 4)], flush=True)
        t0 = time.time()
        for p in pages: p.locator(".st-key-train_start button").click()
        while not all(p.evaluate("() => window.cnnviz").get("ended") for p in pages) and time.time() - t0 < 600:
            print(round(time.time()-t0), "busy", [round(x, 2) for x in change_latencies(ex, changes, 2)], flush=True)
        print("ended", [p.evaluate("() => window.cnnviz") for p in pages])
    c.close()
