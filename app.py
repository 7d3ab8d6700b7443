"""cnnviz: the Streamlit frame. Pages live in pages/; this file only lists them."""

import streamlit as st

st.set_page_config(page_title="cnnviz", page_icon="🧠", layout="wide")
st.navigation([st.Page("pages/home.py", title="Home", icon="🏠", default=True)]).run()
