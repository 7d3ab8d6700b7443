"""cnnviz: the Streamlit frame. Pages live in pages/; this file only lists them."""

import streamlit as st

PAGES = [  # (file, title, icon) in menu order
    ("pages/home.py", "Home", ":material/home:"),
    ("pages/convolution.py", "Convolution", ":material/grid_on:"),
    ("pages/pooling.py", "Pooling", ":material/compress:"),
    ("pages/backprop.py", "Backpropagation", ":material/undo:"),
    ("pages/training.py", "Training", ":material/monitoring:"),
    ("pages/draw.py", "Draw a digit", ":material/draw:"),
]

st.set_page_config(page_title="cnnviz", page_icon="🧠", layout="wide")
st.navigation(
    [
        st.Page(path, title=title, icon=icon, default=path == "pages/home.py")
        for path, title, icon in PAGES
    ]
).run()
