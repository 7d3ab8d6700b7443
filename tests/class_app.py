"""The app as the class's browsers open it (AppTest sessions of app.py), for tests/test_class_*.py:
a teacher's or a student's session, and a SQLite class store in tmp_path."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from cnnviz.classroom import ClassStore, tokens
from cnnviz.ui import classroom as class_ui

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "teacher-token-for-the-tests-0123"
TIMEOUT = 60
MARKUP_NAME = "<b>Ada</b> [x](javascript:alert(1))"


def use_class_store(monkeypatch, tmp_path) -> ClassStore:
    """The class's store in tmp_path, the runs folder beside it, the teacher's token set, and
    the banner's reads not cached (each test run sees the store as it is)."""
    monkeypatch.setenv("CNNVIZ_DATABASE_URL", f"sqlite:///{tmp_path / 'class.db'}")
    monkeypatch.setenv("CNNVIZ_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv(tokens.TOKEN_ENV, TOKEN)
    monkeypatch.setattr(class_ui, "CACHE_SECONDS", 0)
    class_ui.RECENT.clear()
    return class_ui.class_store()


def app(page: str = "home", token: str | None = None, key: str | None = None) -> AppTest:
    """A browser's session of the app (app.py) opened on `page`, with ?token= if given and
    `key` as its student's browser key."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if token is not None:
        at.query_params["token"] = token
    if key is not None:
        at.session_state[class_ui.BROWSER_KEY] = key
    at.switch_page(f"app_pages/{page}.py")
    ok(at.run())
    # later runs stay on the page the last run ended on, as a browser does after the app's
    # st.switch_page (AppTest would otherwise request `page` again at every run)
    at._page_hash = ""
    return at


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.message for e in at.exception]
    return at


def shown(at: AppTest) -> str:
    """Every text the session shows (markdown, text, alerts, tables, captions), joined."""
    parts = [e.value for kind in ("markdown", "text", "caption", "error", "warning", "info",
                                  "success", "title", "subheader") for e in getattr(at, kind)]
    parts += [str(frame.value.to_dict()) for frame in at.dataframe]
    parts += [str(metric.value) + metric.label for metric in at.metric]
    return "\n".join(map(str, parts))
