"""Figures of the Data page (and the tiles the Training page's test-image grid uses)."""

import numpy as np

from cnnviz.figures import data as fdata


def test_tiles_figure_places_images_and_captions_and_frames():
    images = np.random.default_rng(0).integers(0, 256, size=(7, 28, 28))
    figure = fdata.tiles_figure(images, [f"#{k}" for k in range(7)], cols=3, framed=[4])
    canvas = np.asarray(figure.data[0].z, dtype=float)
    assert canvas.shape == (3 * 36, 3 * 36)
    np.testing.assert_array_equal(canvas[36:64, 36:64], images[4])  # row 1, column 1
    assert np.isnan(canvas[-1, -1])  # no eighth image
    assert [a.text for a in figure.layout.annotations] == [f"#{k}" for k in range(7)]
    assert len(figure.layout.shapes) == 1 and figure.layout.shapes[0].x0 == 35


def test_samples_figure_captions_with_class_names():
    images = np.zeros((4, 28, 28), np.uint8)
    names = ["T-shirt", "a", "b", "Dress", "c", "d", "e", "f", "g", "Boot"]
    figure = fdata.samples_figure(images, np.array([0, 9, 9, 3]), names, title="train: 4 images")
    assert [a.text for a in figure.layout.annotations] == ["T-shirt", "Boot", "Boot", "Dress"]
    assert figure.layout.title.text == "train: 4 images"


def test_class_counts_figure_one_bar_trace_per_split():
    counts = {"train": np.arange(10) + 1, "test": np.full(10, 5)}
    figure = fdata.class_counts_figure(counts, [str(k) for k in range(10)])
    assert [trace.name for trace in figure.data] == ["train (55)", "test (50)"]
    assert list(figure.data[0].y) == list(range(1, 11))
    np.testing.assert_allclose(figure.data[1].customdata, 0.1)
    assert figure.layout.barmode == "group"
