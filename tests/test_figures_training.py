"""Tests of the training page's figure builders, on their traces."""

import numpy as np
import pytest

from cnnviz.figures import training as tf


def _epochs(n=3):
    return [{"epoch": e, "loss": 1.0 / (e + 1), "accuracy": 0.5 + 0.1 * e,
             "val_loss": 1.2 / (e + 1), "val_accuracy": 0.45 + 0.1 * e} for e in range(n)]


def test_smooth_follows_a_constant_and_lags_a_step():
    np.testing.assert_allclose(tf.smooth([2.0] * 5, 0.9), 2.0)
    stepped = tf.smooth([0.0] * 5 + [1.0] * 5, 0.5)
    assert stepped[5] == pytest.approx(0.5 / (1 - 0.5**6)) and np.all(np.diff(stepped[5:]) > 0)
    np.testing.assert_allclose(tf.smooth([3.0, 1.0], 0.0), [3.0, 1.0])
    with pytest.raises(ValueError, match="weight"):
        tf.smooth([1.0], 1.0)


def _smooth_one_by_one(values, weight):
    """The EMA the definition says: one value at a time."""
    smoothed, average = [], 0.0
    for index, value in enumerate(values):
        average = weight * average + (1 - weight) * value
        smoothed.append(average / (1 - weight ** (index + 1)))
    return smoothed


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.9, 0.99, 0.9999])
@pytest.mark.parametrize("count", [1, 7, 263, 3001])
def test_smooth_in_blocks_is_the_one_by_one_average(weight, count):
    values = np.random.default_rng(count).normal(1.0, 3.0, count)
    np.testing.assert_allclose(tf.smooth(values, weight), _smooth_one_by_one(values, weight),
                               rtol=1e-9, atol=1e-12)


def test_batch_curves_figure_has_raw_and_smoothed_traces_per_metric():
    batches = [{"loss": 2.0 - 0.1 * i, "accuracy": 0.05 * i} for i in range(10)]
    figure = tf.batch_curves_figure(batches, smoothing=0.5)
    assert len(figure.data) == 4
    raw_loss, smooth_loss, raw_acc, _ = figure.data
    assert list(raw_loss.y) == [row["loss"] for row in batches]
    np.testing.assert_allclose(smooth_loss.y, tf.smooth(raw_loss.y, 0.5))
    assert list(raw_acc.x) == list(range(1, 11)) and raw_acc.xaxis == "x2"
    assert len(tf.batch_curves_figure([]).data) == 4  # empty run: empty traces, no error


def test_batch_curves_figure_draws_a_long_run_at_most_max_points_smoothed_over_all():
    values = np.random.default_rng(0).random(5 * tf.MAX_CURVE_POINTS + 3)
    batches = [{"loss": v, "accuracy": 1 - v} for v in values]
    raw_loss, smooth_loss, _, smooth_acc = tf.batch_curves_figure(batches, smoothing=0.9).data
    shown = np.asarray(raw_loss.x) - 1
    assert len(shown) == tf.MAX_CURVE_POINTS and shown[0] == 0 and shown[-1] == len(values) - 1
    assert np.all(np.diff(shown) > 0)
    np.testing.assert_allclose(raw_loss.y, values[shown])
    np.testing.assert_allclose(smooth_loss.y, tf.smooth(values, 0.9)[shown])
    np.testing.assert_allclose(smooth_acc.y, tf.smooth(1 - values, 0.9)[shown])
    np.testing.assert_array_equal(tf.curve_points(7), np.arange(7))


def test_epoch_curves_figure_shows_train_and_validation():
    figure = tf.epoch_curves_figure(_epochs())
    names = [trace.name for trace in figure.data]
    assert names == ["train", "validation", "train", "validation"]
    assert list(figure.data[1].y) == [row["val_loss"] for row in _epochs()]
    assert list(figure.data[3].y) == [row["val_accuracy"] for row in _epochs()]
    assert list(figure.data[0].x) == [1, 2, 3]


def test_runs_overlay_figure_has_one_line_per_run_and_metric():
    figure = tf.runs_overlay_figure({"run A": _epochs(2), "run B": _epochs(3)})
    loss_a, loss_b, accuracy_a, accuracy_b = figure.data
    assert [trace.name for trace in figure.data] == ["run A", "run B", "run A", "run B"]
    assert (loss_a.xaxis, accuracy_a.xaxis) == ("x", "x2") and len(loss_b.x) == 3
    assert list(accuracy_b.y) == [row["val_accuracy"] for row in _epochs(3)]
    assert loss_a.line.color == accuracy_a.line.color != loss_b.line.color == accuracy_b.line.color
    assert [trace.showlegend for trace in figure.data] == [True, True, False, False]


def test_filters_figure_one_symmetric_heatmap_per_filter():
    W = np.random.default_rng(0).normal(size=(5, 5, 1, 6))
    figure = tf.filters_figure(W)
    assert len(figure.data) == 6
    np.testing.assert_array_equal(figure.data[2].z, W[:, :, 0, 2])
    assert figure.data[2].zmax == pytest.approx(np.abs(W[:, :, 0, 2]).max()) == -figure.data[2].zmin
    assert len(tf.filters_figure(np.zeros((28, 28, 1, 40))).data) == 16  # capped, zeros allowed
    with pytest.raises(ValueError, match="first_layer"):
        tf.filters_figure(np.zeros((5, 5, 6)))


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    matrix = tf.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], n_classes=3)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    with pytest.raises(ValueError, match="same shape"):
        tf.confusion_matrix([0, 1], [0])


def test_confusion_figure_writes_counts_in_cells():
    matrix = tf.confusion_matrix(np.arange(10), (np.arange(10) + 1) % 10)
    figure = tf.confusion_figure(matrix, [str(i) for i in range(10)])
    np.testing.assert_array_equal(figure.data[0].z, matrix)
    assert figure.data[0].texttemplate == "%{text}" and list(figure.data[0].x)[:2] == ["0", "1"]
    named = tf.confusion_figure(matrix, ["T-shirt"] + [str(i) for i in range(1, 10)])
    assert named.data[0].y[0] == "0 T-shirt"


def test_confusion_figure_cell_markers_map_back_to_their_cell():
    matrix = np.arange(100).reshape(10, 10)
    cells = tf.confusion_figure(matrix, [str(i) for i in range(10)]).data[1]
    assert len(cells.x) == 100
    index = 3 * 10 + 7  # true 3, predicted 7
    assert (cells.y[index], cells.x[index], cells.customdata[index]) == ("3", "7", matrix[3, 7])
    assert tf.confusion_cell(index) == (3, 7)


def test_select_examples_filters_by_cell_and_mistakes():
    y_true, y_pred = np.array([3, 3, 5, 3, 5]), np.array([3, 5, 5, 5, 3])
    assert tf.select_examples(y_true, y_pred).tolist() == [0, 1, 2, 3, 4]
    assert tf.select_examples(y_true, y_pred, 3, 5).tolist() == [1, 3]
    assert tf.select_examples(y_true, y_pred, true_class=3).tolist() == [0, 1, 3]
    assert tf.select_examples(y_true, y_pred, mistakes_only=True).tolist() == [1, 3, 4]


def test_image_grid_figure_labels_every_image_and_frames_mistakes():
    images = np.random.default_rng(1).integers(0, 256, size=(10, 28, 28))
    y_true, y_pred = np.arange(10), np.array([0, 1, 2, 9, 4, 5, 6, 7, 8, 3])
    figure = tf.image_grid_figure(images, y_true, y_pred, [str(i) for i in range(10)], cols=4)
    texts = [annotation.text for annotation in figure.layout.annotations]
    assert texts[3] == "GT 3 / P 9" and len(texts) == 10
    assert len(figure.layout.shapes) == 2  # two mistakes framed
    canvas = np.asarray(figure.data[0].z, dtype=float)
    np.testing.assert_array_equal(canvas[:28, :28], images[0])
    assert canvas.shape == (3 * 36, 4 * 36)
