"""Turn a drawing or a photo into an MNIST digit: what MNIST did to its own digits, step by step.

MNIST's recipe (LeCun et al.): crop the digit to its bounding box, scale it so that the longer side
is 20 px keeping the aspect ratio (anti-aliased, hence grey levels), and place it in a 28x28 field
with its centre of mass at the centre. In the MNIST files the centre of mass sits at pixel (14, 14)
(row, column, 0-based) to within a third of a pixel, so that is the target here too.

One step goes beyond MNIST: on a canvas the brush width is fixed while the digit's size is not,
so a small digit drawn with a wide brush has strokes far thicker, relative to its size, than any
pen stroke in MNIST. Strokes wider than `MAX_STROKE` of the digit's longer side (wider than in 80%
of MNIST's digits) are thinned by erosion to `TARGET_STROKE` (a little over MNIST's median) before
scaling. (`stroke_width` on the embedded digits, upscaled 10x: median 0.104, 75th percentile 0.123,
90th 0.146.)

`preprocess_steps(image)` returns every intermediate image (for display); `canvas_to_mnist(image)`
only the final (28, 28) float32 array in [0, 1]. An image with no ink raises `NothingDrawn`
(a `ValueError`), so a blank canvas never becomes a prediction.
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

MNIST_SIZE = 28  # side of the MNIST field
DIGIT_BOX = 20  # the digit's longer side after scaling
MNIST_CENTRE = (14.0, 14.0)  # (row, col) of the centre of mass in MNIST's own digits
MIN_CONTRAST = 0.1  # ink must differ from the background by 10% of full scale to count
INK_FLOOR = 0.1  # after normalisation, weaker ink is treated as background (paper noise, halos)
RESAMPLING = Image.Resampling.LANCZOS  # anti-aliased downscaling to 20 px
MAX_STROKE = 0.13  # stroke width / longer side above which strokes are thinned
TARGET_STROKE = 0.11  # ... down to this


class NothingDrawn(ValueError):
    """The image holds no ink: there is no digit to classify."""


@dataclass(frozen=True)
class PreprocessSteps:
    """Every stage of `canvas_to_mnist`, as float32 ink images in [0, 1] (1 = ink, 0 = background).

    raw (H, W): the whole input, light ink on dark; cropped (h, w): the ink's bounding box;
    thinned (h', w'): the crop, its strokes thinned by `thinned_by` px a side (0: unchanged);
    scaled (h20, w20): that with its longer side at 20 px; centred (28, 28): the network's input.
    """

    raw: np.ndarray
    cropped: np.ndarray
    thinned: np.ndarray
    thinned_by: int
    scaled: np.ndarray
    centred: np.ndarray


def ink_image(image: np.ndarray) -> np.ndarray:
    """Ink intensity of a drawing or photo: (H, W) float32 in [0, 1], 1 = ink, 0 = background.

    image: (H, W) grayscale, (H, W, 3) RGB or (H, W, 4) RGBA; uint8, or floating point in [0, 1].
    A transparent background (RGBA with see-through border) makes opacity the ink. Otherwise the
    luminance is used, inverted when the background (median of the border) is light, so light ink
    on dark and dark ink on light paper give the same result. The background level is subtracted
    and the strongest ink stretched to 1; ink weaker than `INK_FLOOR` is dropped.
    Raises NothingDrawn when no pixel stands out from the background.
    """
    pixels = _as_unit_float(image)
    if pixels.ndim == 3 and pixels.shape[2] == 4 and np.median(_border(pixels[..., 3])) < 0.5:
        gray = pixels[..., 3]
    else:
        gray = pixels if pixels.ndim == 2 else _luminance(pixels[..., :3])
        if np.median(_border(gray)) > 0.5:
            gray = 1.0 - gray
    background = float(np.median(_border(gray)))
    contrast = float(gray.max()) - background
    if contrast < MIN_CONTRAST:
        raise NothingDrawn(
            "Nothing drawn: the image has no ink that stands out from its background."
        )
    ink = np.clip((gray - background) / contrast, 0.0, 1.0)
    ink[ink < INK_FLOOR] = 0.0
    return ink.astype(np.float32)


def preprocess_steps(image: np.ndarray) -> PreprocessSteps:
    """Run MNIST's preprocessing on `image` (see `ink_image` for inputs), keeping every stage.

    Raises NothingDrawn for an image without ink, ValueError for an unsupported array.
    """
    raw = ink_image(image)
    cropped = _crop_to_ink(raw)
    thinned, thinned_by = _limit_stroke_width(cropped)
    scaled = _scale_longer_side(thinned, DIGIT_BOX)
    return PreprocessSteps(
        raw=raw,
        cropped=cropped,
        thinned=thinned,
        thinned_by=thinned_by,
        scaled=scaled,
        centred=_centre_of_mass_place(scaled),
    )


def canvas_to_mnist(image: np.ndarray) -> np.ndarray:
    """The (28, 28) float32 image in [0, 1] that MNIST's preprocessing makes of `image`.

    image: a canvas' RGBA uint8 array of any size (opaque or transparent background), an RGB or a
    grayscale array; light ink on dark or dark ink on light. Raises NothingDrawn when it has no ink.
    """
    return preprocess_steps(image).centred


def _as_unit_float(image: np.ndarray) -> np.ndarray:
    """Validate `image` and return it as float32 in [0, 1], shape (H, W) or (H, W, C)."""
    pixels = np.asarray(image)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (3, 4)):
        raise ValueError(
            f"image must have shape (H, W), (H, W, 3) or (H, W, 4); got {pixels.shape}. "
            "Pass a grayscale, RGB or RGBA array."
        )
    if min(pixels.shape[:2]) == 0:
        raise ValueError(f"image must not be empty; got shape {pixels.shape}.")
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / 255.0
    if np.issubdtype(pixels.dtype, np.floating):
        if not np.isfinite(pixels).all() or pixels.min() < 0.0 or pixels.max() > 1.0:
            raise ValueError("image of floats must lie in [0, 1]; scale it, or pass uint8.")
        return pixels.astype(np.float32)
    raise ValueError(f"image must be uint8 or floating point in [0, 1]; got dtype {pixels.dtype}.")


def _luminance(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB -> (H, W) luminance, ITU-R 601 weights (as Pillow's convert("L"))."""
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _border(plane: np.ndarray) -> np.ndarray:
    """The one-pixel frame of an (H, W) plane, flattened."""
    return np.concatenate([plane[0], plane[-1], plane[1:-1, 0], plane[1:-1, -1]])


def stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width in px of the ink (h, w), from the area A and boundary P of ink > 0.5.

    Strokes are taken as one w x L ribbon: w * L = A and 2 * (w + L) = P, so w is the smaller root
    of t**2 - (P / 2) t + A = 0. P counts the pixels a 3x3 erosion removes. 0.0 without ink.
    """
    mask = np.pad(np.where(ink > 0.5, np.float32(1), np.float32(0)), 1)
    area = float(mask.sum())
    eroded = np.asarray(Image.fromarray(mask).filter(ImageFilter.MinFilter(3)))
    half_perimeter = (area - float(eroded.sum()) + 4.0) / 2.0  # + the 4 corners erosion skips
    return (half_perimeter - np.sqrt(max(half_perimeter**2 - 4.0 * area, 0.0))) / 2.0


def _limit_stroke_width(ink: np.ndarray) -> tuple[np.ndarray, int]:
    """Erode cropped ink (h, w) whose strokes exceed MAX_STROKE of its longer side, and crop again.

    Returns (ink, px removed from each side of a stroke); (ink, 0) when the strokes are thin enough
    or eroding would erase the digit.
    """
    width, longer = stroke_width(ink), max(ink.shape)
    steps = int((width - TARGET_STROKE * longer) // 2)
    if width <= MAX_STROKE * longer or steps < 1:
        return ink, 0
    padded = Image.fromarray(np.pad(ink, steps))  # the outside is background, also for the filter
    eroded = np.asarray(padded.filter(ImageFilter.MinFilter(2 * steps + 1)), dtype=np.float32)
    return (_crop_to_ink(eroded), steps) if eroded.max() > 0.5 else (ink, 0)


def _crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """The bounding box of the nonzero pixels of ink (H, W), which must have some."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _scale_longer_side(ink: np.ndarray, size: int) -> np.ndarray:
    """Resize (h, w) so that max(h, w) == size, keeping the aspect ratio; anti-aliased (Lanczos)."""
    h, w = ink.shape
    scale = size / max(h, w)
    new_hw = (max(1, round(h * scale)), max(1, round(w * scale)))
    resized = Image.fromarray(ink).resize(new_hw[::-1], RESAMPLING)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def _centre_of_mass_place(digit: np.ndarray) -> np.ndarray:
    """Place digit (h, w <= 20) in a 28x28 field, its centre of mass as near (14, 14) as fits."""
    h, w = digit.shape
    mass = digit.sum()
    com_row = (digit.sum(axis=1) @ np.arange(h)) / mass
    com_col = (digit.sum(axis=0) @ np.arange(w)) / mass
    top = int(np.clip(round(MNIST_CENTRE[0] - com_row), 0, MNIST_SIZE - h))
    left = int(np.clip(round(MNIST_CENTRE[1] - com_col), 0, MNIST_SIZE - w))
    field = np.zeros((MNIST_SIZE, MNIST_SIZE), dtype=np.float32)
    field[top : top + h, left : left + w] = digit
    return field
