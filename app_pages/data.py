"""Data: what the networks learn from — sample images and class counts per split."""

import numpy as np
import streamlit as st

from cnnviz import data, figures, ui
from cnnviz.data import splits

st.title("Data at a glance")
st.caption(
    "Before building a network, look at the data: 25 random images of each split with their "
    "class, and how many images each class has. Validation is the part of the training images the "
    f"Training page holds out ({splits.VALIDATION_FRACTION:.0%}, seed 0) unless the file brings "
    "its own."
)
columns = st.columns([2, 1, 1])
default = st.session_state.get(ui.DATASET_KEY, "mnist")
name = columns[0].selectbox("Dataset", list(data.CLASS_NAMES), key="data_dataset",
                            index=list(data.CLASS_NAMES).index(default))
seed = columns[1].number_input("Samples seed", 0, 10**6, 0, key="data_seed")
columns[2].write("")
columns[2].button(":material/casino: other samples", key="data_shuffle", on_click=lambda: (
    st.session_state.update(data_seed=int(np.random.default_rng().integers(10**6)))))
try:
    dataset = ui.dataset(name)
except data.DatasetUnavailable as error:
    st.info(str(error))
    st.stop()
except data.DatasetError as error:
    st.error(str(error))
    st.stop()
st.write(f"**{name}**, from {dataset.source}.")


@st.cache_data(show_spinner=False, max_entries=4)
def split_summary(name: str) -> dict[str, np.ndarray]:
    """Images per class of each split (computed once per dataset)."""
    n_classes = len(ui.dataset(name).class_names)
    return {split: part.class_counts(n_classes)
            for split, part in splits.dataset_splits(ui.dataset(name)).items()}


for column, (split, part) in zip(st.columns(3), splits.dataset_splits(dataset).items()):
    images, labels = part.sample(25, seed=int(seed))
    column.plotly_chart(
        figures.data.samples_figure(images, labels, dataset.class_names,
                                    title=f"{split}: {len(part):,} images"),
        key=f"data_samples_{split}")
counts = split_summary(name)
st.plotly_chart(figures.data.class_counts_figure(counts, dataset.class_names), key="data_counts")
st.dataframe(
    [{"class": class_name, **{split: int(c[k]) for split, c in counts.items()}}
     for k, class_name in enumerate(dataset.class_names)],
    hide_index=True,
)
