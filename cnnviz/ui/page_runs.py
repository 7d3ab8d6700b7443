"""A fragment run for a page the student has left, turned back into a run of the page shown.

The class banner (classroom.banner, a fragment refreshed every few seconds) moves a following
student with st.switch_page, from the server. Until the browser hears of the move, the banner's
timer still asks for runs of the page left. One such request handled once the new page has
started runs the banner *for the old page*; Streamlit 1.67's browser side, seeing a fragment run
for another page than the one it shows, clears the whole page and redraws only the fragment: the
sidebar and the banner stay, the page below them is blank until the next full run. (Streamlit's
server takes the page of a fragment run from the request, and the browser's timer only stops
when the new page's first message arrives; seen in 4 of 9 runs of the class's e2e test on a
loaded machine.) remember() notes each page a full run draws; undo_stale_run(), the banner's
first line, turns a run for another page into a run of that page again.
"""

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

DRAWN = "_page_runs_drawn"  # session state: (page hash, url_path, address) of the last full run


def run_page() -> str:
    """The page this script or fragment run is for (Streamlit's page hash; "" outside a run)."""
    ctx = get_script_run_ctx()
    return ctx.page_script_hash if ctx else ""


def remember(page) -> None:
    """Notes the page this full run draws (from st.navigation) and its address's settings."""
    params = st.query_params
    st.session_state[DRAWN] = (run_page(), page.url_path,
                               {name: params.get_all(name) for name in params})


def undo_stale_run(pages: dict) -> None:
    """Runs the page drawn last again, with its address, when this run is for another page.

    Args:
        pages: url_path -> st.Page of the app (the page remembered is looked up there).
    """
    drawn = st.session_state.get(DRAWN)
    if drawn and drawn[0] != run_page() and drawn[1] in pages:
        st.switch_page(pages[drawn[1]], query_params=drawn[2])
