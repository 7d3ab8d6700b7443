"""A banner run for a page the student was moved from (cnnviz/ui/page_runs.py): the page a full
run draws is remembered with its address; a run for another page is turned into a run of it."""

from types import SimpleNamespace

import pytest

from cnnviz.ui import page_runs
from tests.class_app import app, use_class_store

KEY = "page-runs-browser-key-01"


class Params(dict):
    """st.query_params' two reads used here, over name -> list of values."""

    def get_all(self, name):
        return self[name]


@pytest.fixture
def fake_st(monkeypatch):
    """page_runs' Streamlit: session state, an address, and st.switch_page recorded."""
    switched = []
    fake = SimpleNamespace(session_state={}, query_params=Params(), switched=switched,
                           switch_page=lambda page, query_params: switched.append(
                               (page, query_params)))
    monkeypatch.setattr(page_runs, "st", fake)
    return fake


def run_for(monkeypatch, page_hash: str) -> None:
    monkeypatch.setattr(page_runs, "run_page", lambda: page_hash)


def test_a_run_for_a_page_left_runs_the_page_drawn_last_with_its_address(monkeypatch, fake_st):
    pages = {"": "home page", "convolution": "convolution page"}
    run_for(monkeypatch, "hash-convolution")
    fake_st.query_params.update(padding=["same"], stride_h=["2"])
    page_runs.remember(SimpleNamespace(url_path="convolution"))
    fake_st.query_params.clear()  # the stale run's address is the old page's
    page_runs.undo_stale_run(pages)
    assert fake_st.switched == []  # a run for the page drawn: nothing to undo
    run_for(monkeypatch, "hash-home")
    page_runs.undo_stale_run(pages)
    assert fake_st.switched == [("convolution page", {"padding": ["same"], "stride_h": ["2"]})]


def test_nothing_is_undone_before_a_page_was_drawn_or_for_a_page_the_app_lacks(monkeypatch,
                                                                               fake_st):
    run_for(monkeypatch, "hash-home")
    page_runs.undo_stale_run({"": "home page"})
    page_runs.remember(SimpleNamespace(url_path="gone"))
    run_for(monkeypatch, "hash-other")
    page_runs.undo_stale_run({"": "home page"})
    assert fake_st.switched == []


def test_a_students_full_run_remembers_its_page_and_address(monkeypatch, tmp_path):
    use_class_store(monkeypatch, tmp_path)
    at = app("pooling", key=KEY)
    page_hash, url_path, address = at.session_state[page_runs.DRAWN]
    assert url_path == "pooling" and page_hash  # the page st.navigation resolved
    assert all(isinstance(values, list) for values in address.values())
