"""Start-up: every page opens while the server's warm-up imports (cnnviz.ui.warm_up), and the
warm-up itself ends without an error, under AppTest (no Streamlit Runtime)."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120


def app_pages() -> list[str]:
    """The page files of app.py's PAGES, read from its source (running app.py needs Streamlit)."""
    tree = ast.parse((ROOT / "app.py").read_text())
    pages = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                 and any(getattr(target, "id", None) == "PAGES" for target in node.targets))
    return [path for path, _, _ in ast.literal_eval(pages)]


# A fresh process, so the warm-up really imports (pandas is not yet loaded): the home page runs,
# which starts the warm-up, and the page opens at once, while the warm-up's thread still imports.
OPEN_PAGE_DURING_WARM_UP = """
import sys, threading, types
from streamlit.testing.v1 import AppTest

failures = []
threading.excepthook = lambda args: failures.append(repr(args.exc_value))
if sys.argv[1] == "app_pages/draw.py":  # the browser canvas needs a Runtime, which AppTest lacks
    canvas = types.ModuleType("streamlit_drawable_canvas")
    canvas.st_canvas = lambda **kwargs: types.SimpleNamespace(image_data=None, json_data=None)
    sys.modules["streamlit_drawable_canvas"] = canvas
if sys.argv[1] == "app_pages/training.py":  # imports are the point here, not a Ray head per test
    from cnnviz.training import service
    service.SERVICE.warm_up = lambda: None
at = AppTest.from_file("app.py", default_timeout=float(sys.argv[2])).run()
assert not at.exception, [e.message for e in at.exception]
warm_up = next(t for t in threading.enumerate() if t.name == "cnnviz-warm-up")
assert warm_up.is_alive(), "the warm-up ended before the page opened: nothing was tested"
at.switch_page(sys.argv[1]).run()
assert not at.exception, [e.message for e in at.exception]
warm_up.join(float(sys.argv[2]))
assert not warm_up.is_alive() and not failures, failures
print("pandas" in sys.modules and hasattr(sys.modules["pandas"], "Series"))
"""


@pytest.mark.parametrize("page", app_pages())
def test_page_opens_while_the_warm_up_imports(page):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", OPEN_PAGE_DURING_WARM_UP, page, str(TIMEOUT)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=2 * TIMEOUT)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.splitlines()[-1] == "True"  # the warm-up completed pandas


def test_app_py_lists_every_page_file():
    pages = app_pages()
    assert len(pages) == len(set(pages)) >= 8
    assert all((ROOT / path).is_file() for path in pages)
