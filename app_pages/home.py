"""Home: what cnnviz is, what each page is for, and which dataset is loaded."""

import streamlit as st

from cnnviz import data, ui

st.title("cnnviz")
st.write(
    "An interactive explorer of convolutional neural networks: see what a convolution and a "
    "pooling layer compute, forward and backward, on real MNIST digits."
)
st.markdown(
    """
- **Data**: 25 sample images of each split (train, validation, test) and the images per class, for
  MNIST and Fashion-MNIST: the homework's first look at the data.
- **Convolution**: pick kernels (blur, sharpen, Sobel, … or your own numbers), padding and stride;
  see the output maps, the output-size formula, and step through one output value.
- **Pooling**: max or average pooling; the window behind each output cell and its maximum.
- **Backpropagation**: choose the upstream gradient and see dA_prev, dW and db; the full-convolution
  view of dA_prev; pooling's gradient and its ties; a numerical gradient check; learn a kernel by
  gradient descent.
- **Homework: 2-3-1 network**: the homework's network from scratch, every value and gradient on it,
  its gradient check and gradient descent.
- **Architectures**: MLPs and CNNs side by side (parameters, multiply-adds, receptive fields per
  layer), edit a network layer by layer, why both LeNet-5s have 61,706 parameters, the 1,000 ×
  1,000 image argument, and any network as a Keras script to take home.
- **Training** and **Draw a digit** (when installed): train LeNet-5 live, then let it read your
  digit.

The input (sidebar) is shared by the pages: a dataset image, an uploaded picture, or the course's
5x5 grid. The main settings are kept in the page's address, so a view can be shared as a link.
"""
)
st.subheader("Dataset")
name = st.session_state.get(ui.DATASET_KEY, "mnist")
try:
    loaded = ui.dataset(name)
except data.DatasetError as error:
    st.error(str(error))
else:
    st.write(
        f"**{name}** is loaded: {len(loaded.x_train):,} training and {len(loaded.x_test):,} test "
        f"images, from {loaded.source}."
    )
others = [other for other in data.available_datasets() if other != name]
if others:
    st.write(
        "Also available (pick it in the sidebar of the explorer pages): " + ", ".join(others) + "."
    )
