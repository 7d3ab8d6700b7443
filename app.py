"""cnnviz: the Streamlit frame. Pages live in app_pages/; this file lists them, then warms the
server up for the next pages (once per server, after the first page is drawn)."""

import streamlit as st

from cnnviz import ui
from cnnviz.ui import classroom

PAGES = [  # (file, title, icon) in menu order
    ("app_pages/home.py", "Home", ":material/home:"),
    ("app_pages/data.py", "Data", ":material/dataset:"),
    ("app_pages/convolution.py", "Convolution", ":material/grid_on:"),
    ("app_pages/pooling.py", "Pooling", ":material/compress:"),
    ("app_pages/backprop.py", "Backpropagation", ":material/undo:"),
    ("app_pages/dense.py", "Homework: 2-3-1 network", ":material/hub:"),
    ("app_pages/architectures.py", "Architectures", ":material/account_tree:"),
    ("app_pages/training.py", "Training", ":material/monitoring:"),
    ("app_pages/draw.py", "Draw a digit", ":material/draw:"),
    ("app_pages/check.py", "Check my solution", ":material/task_alt:"),
]

# An image file, not an emoji: checking an emoji imports Streamlit's emoji table, which is slow,
# at the first page of a fresh server.
st.set_page_config(page_title="cnnviz", page_icon=str(ui.ICON), layout="wide")
pages = [
    st.Page(path, title=title, icon=icon, default=path == "app_pages/home.py")
    for path, title, icon in PAGES
]
# The teacher's page: reachable at /class?token=..., never in the students' menu
pages.append(st.Page("app_pages/class.py", title="Class", icon=":material/school:",
                     url_path=classroom.CLASS_PATH, visibility="hidden"))
page = st.navigation(pages)
with ui.page_run():  # waits while the warm-up imports: a half-imported module must not be seen
    classroom.frame(page, pages)
    page.run()
ui.warm_up()
