"""canvas_to_mnist: MNIST's crop, scaling to 20 px and centre-of-mass placement, on canvases."""

import numpy as np
import pytest

from cnnviz.data.preprocess import (
    MAX_STROKE,
    NothingDrawn,
    canvas_to_mnist,
    ink_image,
    preprocess_steps,
    stroke_width,
)

MNIST_CENTRE = np.array([14.0, 14.0])


def centre_of_mass(image: np.ndarray) -> np.ndarray:
    rows, cols = np.indices(image.shape)
    return np.array([(rows * image).sum(), (cols * image).sum()]) / image.sum()


def ink_box(image: np.ndarray, threshold: float = 0.0) -> tuple[int, int]:
    """(height, width) of the bounding box of pixels above threshold."""
    rows = np.flatnonzero((image > threshold).any(axis=1))
    cols = np.flatnonzero((image > threshold).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def canvas(height: int = 280, width: int = 280, *, opaque: bool = True) -> np.ndarray:
    """An RGBA uint8 canvas: black and opaque, or fully transparent."""
    rgba = np.zeros((height, width, 4), dtype=np.uint8)
    rgba[..., 3] = 255 if opaque else 0
    return rgba


def paint(rgba: np.ndarray, rows: slice, cols: slice, value: int = 255) -> np.ndarray:
    """Paint an opaque grey rectangle (the stroke) onto an RGBA canvas, in place; returns it."""
    rgba[rows, cols, :3] = value
    rgba[rows, cols, 3] = 255
    return rgba


def seven(rgba: np.ndarray, top: int, left: int, size: int) -> np.ndarray:
    """A '7' of height `size` drawn with thick strokes: a bar and a diagonal."""
    thickness = max(2, size // 8)
    paint(rgba, slice(top, top + thickness), slice(left, left + size // 2 + thickness))
    for step in range(size):
        col = left + size // 2 - step // 2
        paint(rgba, slice(top + step, top + step + 1), slice(col, col + thickness))
    return rgba


@pytest.mark.parametrize("opaque", [True, False])
def test_canvas_to_mnist_empty_canvas_raises_nothing_drawn(opaque):
    with pytest.raises(NothingDrawn, match="Nothing drawn"):
        canvas_to_mnist(canvas(opaque=opaque))


def test_canvas_to_mnist_faint_smudge_is_nothing_drawn():
    faint = canvas()
    faint[100:110, 100:110, :3] = 10  # 4% of full scale
    with pytest.raises(NothingDrawn):
        canvas_to_mnist(faint)


def test_canvas_to_mnist_output_shape_dtype_and_range():
    out = canvas_to_mnist(seven(canvas(), 40, 60, 150))
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0 and out.max() > 0.9


def test_canvas_to_mnist_dot_becomes_centred_blob():
    out = canvas_to_mnist(paint(canvas(), slice(30, 36), slice(250, 256)))
    assert ink_box(out, 0.5) == (20, 20)
    np.testing.assert_allclose(centre_of_mass(out), MNIST_CENTRE, atol=0.5)


def test_canvas_to_mnist_longer_side_is_20_pixels_keeping_aspect_ratio():
    steps = preprocess_steps(paint(canvas(), slice(20, 220), slice(100, 120)))  # 200 x 20 bar
    assert steps.cropped.shape == (200, 20) and steps.thinned_by == 0
    assert steps.scaled.shape == (20, 2)
    assert ink_box(steps.centred, 0.5) == (20, 2)


def test_canvas_to_mnist_off_centre_drawing_matches_centred_one():
    centred = canvas_to_mnist(seven(canvas(), 65, 75, 150))
    corner = canvas_to_mnist(seven(canvas(), 5, 120, 150))
    np.testing.assert_allclose(corner, centred, atol=1e-5)
    np.testing.assert_allclose(centre_of_mass(corner), MNIST_CENTRE, atol=0.5)


def test_canvas_to_mnist_transparent_background_equals_opaque():
    opaque = canvas_to_mnist(seven(canvas(opaque=True), 40, 40, 120))
    transparent = canvas_to_mnist(seven(canvas(opaque=False), 40, 40, 120))
    np.testing.assert_allclose(transparent, opaque, atol=1e-5)


def test_canvas_to_mnist_dark_ink_on_transparent_background_is_ink():
    light = canvas_to_mnist(seven(canvas(opaque=False), 40, 40, 120))
    dark = np.zeros((280, 280, 4), dtype=np.uint8)
    dark[..., 3] = seven(canvas(opaque=False), 40, 40, 120)[
        ..., 3
    ]  # black strokes, see-through paper
    np.testing.assert_allclose(canvas_to_mnist(dark), light, atol=1e-5)


def test_canvas_to_mnist_dark_on_light_grayscale_is_inverted():
    light_on_dark = seven(canvas(), 40, 40, 120)[..., 0]
    paper = (235 - light_on_dark.astype(np.int32) * 200 // 255).astype(
        np.uint8
    )  # ink 35, paper 235
    np.testing.assert_allclose(canvas_to_mnist(paper), canvas_to_mnist(light_on_dark), atol=1e-5)


def test_canvas_to_mnist_rgb_and_grayscale_agree():
    rgba = seven(canvas(), 40, 40, 120)
    np.testing.assert_allclose(
        canvas_to_mnist(rgba[..., :3]), canvas_to_mnist(rgba[..., 0]), atol=1e-5
    )


def test_canvas_to_mnist_non_square_canvas():
    wide = seven(canvas(120, 400), 10, 300, 100)
    out = canvas_to_mnist(wide)
    assert out.shape == (28, 28)
    assert ink_box(out, 0.5)[0] == 20
    np.testing.assert_allclose(centre_of_mass(out), MNIST_CENTRE, atol=0.5)


def test_canvas_to_mnist_keeps_an_mnist_digit_nearly_unchanged():
    digit = np.zeros((28, 28), dtype=np.float32)
    digit[4:24, 13:16] = 1.0  # a "1" already in MNIST's frame: 20 px tall, column mass at 14
    np.testing.assert_allclose(canvas_to_mnist(digit), digit, atol=1e-5)


@pytest.mark.parametrize("width", [3, 8, 20])
def test_stroke_width_of_a_bar_is_its_width(width):
    bar = np.zeros((240, 60), dtype=np.float32)
    bar[20:220, 10 : 10 + width] = 1.0
    assert stroke_width(bar) == pytest.approx(width, rel=0.05)


def test_canvas_to_mnist_thins_strokes_too_wide_for_the_digit():
    fat = np.zeros((280, 280), dtype=np.uint8)
    fat[40:140, 100:130] = 255  # a 100 px tall "1" drawn 30 px wide
    steps = preprocess_steps(fat)
    assert steps.thinned_by == 9  # 30 px -> 12 px, about MNIST's median: 0.11 of the longer side
    assert stroke_width(steps.thinned) == pytest.approx(12, abs=0.5)
    assert steps.thinned.shape == (82, 12)
    assert max(steps.scaled.shape) == 20


def test_canvas_to_mnist_keeps_strokes_of_mnist_width():
    drawing = seven(canvas(), 40, 60, 150)
    steps = preprocess_steps(drawing)
    assert stroke_width(steps.cropped) < MAX_STROKE * max(steps.cropped.shape)
    assert steps.thinned_by == 0
    np.testing.assert_array_equal(steps.thinned, steps.cropped)


def test_preprocess_steps_exposes_each_stage():
    steps = preprocess_steps(seven(canvas(), 40, 60, 150))
    assert steps.raw.shape == (280, 280)
    assert steps.cropped.shape == ink_box(steps.raw)
    assert max(steps.scaled.shape) == 20
    assert steps.centred.shape == (28, 28)


def test_ink_image_stretches_grey_ink_to_full_scale():
    grey = paint(canvas(), slice(50, 100), slice(50, 100), value=128)
    ink = ink_image(grey)
    assert ink.max() == pytest.approx(1.0)
    assert ink[0, 0] == 0.0


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((10, 10, 2), dtype=np.uint8), "shape"),
        (np.zeros((0, 10), dtype=np.uint8), "empty"),
        (np.full((10, 10), 2.0), r"\[0, 1\]"),
        (np.zeros((10, 10), dtype=np.int64), "dtype"),
    ],
)
def test_canvas_to_mnist_rejects_bad_arrays_with_clear_message(bad, message):
    with pytest.raises(ValueError, match=message):
        canvas_to_mnist(bad)
