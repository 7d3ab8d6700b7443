"""The server's warm-up imports (cnnviz.ui.warm_up) hold pages back one module at a time."""

import sys
import threading
import time

from cnnviz import ui


def test_a_page_opened_during_the_warm_up_waits_for_one_import_not_all(tmp_path, monkeypatch):
    for name in ("cnnviz_slow_a", "cnnviz_slow_b"):
        (tmp_path / f"{name}.py").write_text("import time\ntime.sleep(0.5)\n")
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(ui, "WARM_UP_MODULES", ("cnnviz_slow_a", "cnnviz_slow_b"))
    warm_up = threading.Thread(target=ui._import_warm_up_modules)
    warm_up.start()
    deadline = time.monotonic() + 10
    while "cnnviz_slow_a" not in sys.modules and time.monotonic() < deadline:
        time.sleep(0.01)  # the first module's import has begun (it is in sys.modules from then)
    with ui.page_run():  # the page: in after module a, before module b
        first_done = hasattr(sys.modules["cnnviz_slow_a"], "time")
        second_begun = "cnnviz_slow_b" in sys.modules
    warm_up.join(10)
    assert first_done and not second_begun
    assert "cnnviz_slow_b" in sys.modules  # the warm-up went on after the page
