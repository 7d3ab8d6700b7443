"""Home: what cnnviz is and what each page is for."""

import streamlit as st

st.title("cnnviz")
st.write(
    "An interactive explorer of convolutional neural networks: see what a convolution and a "
    "pooling layer compute, forward and backward, on real MNIST digits."
)
