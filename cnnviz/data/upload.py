"""Decode an uploaded image safely into a NumPy array for `cnnviz.preprocess`.

Uploads are untrusted bytes. `decode_upload` caps the byte count and the pixel count (read from the
header, before any pixel is decoded), keeps Pillow's decompression-bomb guard on and makes its
warning an error, accepts only common still-image formats, and turns every decoding failure into a
`ValueError` with a message fit for the user. Photos are turned upright (EXIF orientation) and
shrunk to at most `MAX_SIDE` px on the longer side.

`decode_image` is the explorer's variant: smaller caps (`EXPLORER_MAX_BYTES`, ...) and float pixels
shrunk to `EXPLORER_SIDE`, so every figure of an uploaded picture stays fast.

`photo_ink` then cleans a photo of a handwritten digit for `cnnviz.preprocess`: dark ink on light
paper is inverted (as in `ink_image`), and paper grain, uneven light and specks are removed by a
3x3 median filter and Otsu's threshold between paper and ink.
"""

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from cnnviz.data.preprocess import ink_image

# The draw page's photo of a digit:
PHOTO_MAX_BYTES = 10 * 1024 * 1024  # 10 MiB: a phone photo fits, an abuse does not
MAX_PIXELS = 40_000_000  # 40 megapixels, checked from the header before decoding
MAX_SIDE = 560  # longer side after decoding: twice the canvas, plenty for a 28x28 digit
# The explorer's input picture:
EXPLORER_MAX_BYTES = 5 * 2**20
EXPLORER_MAX_PIXELS = 25_000_000  # from the header, before decoding
EXPLORER_SIDE = 64  # longer side after decoding: every explorer figure stays fast
# Every image uploader's formats (Pillow's names) and the file name endings it takes for them:
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
MORE_EXTENSIONS = {"JPEG": ("jpg",)}  # endings besides the format's own name
EXTENSIONS = tuple(end for fmt in FORMATS for end in (fmt.lower(), *MORE_EXTENSIONS.get(fmt, ())))
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


@dataclass(frozen=True)
class DecodedImage:
    """pixels: (H, W) uint8 grayscale or (H, W, 4) uint8 RGBA (when the image has transparency);
    notes: things the user should know about how the file was read (e.g. first frame of a GIF)."""

    pixels: np.ndarray
    notes: tuple[str, ...] = ()


def decode_upload(
    data: bytes,
    *,
    max_bytes: int = PHOTO_MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
    max_side: int = MAX_SIDE,
    mode: str = "auto",
) -> DecodedImage:
    """Decode image file bytes (PNG, JPEG, GIF, BMP, WebP) into uint8 pixels; see `DecodedImage`.

    mode "auto" gives (H, W) grayscale, or (H, W, 4) RGBA when the image has transparency;
    "L" always (H, W) grayscale; "RGB" always (H, W, 3). The longer side is shrunk to `max_side`.
    Animated images give their first frame (with a note). 16-bit grayscale PNGs are scaled to
    8 bits.
    Raises ValueError for an empty, too large, corrupt, truncated or non-image file.
    """
    if mode not in ("auto", "L", "RGB"):
        raise ValueError(f'mode must be "auto", "L" or "RGB", got {mode!r}')
    if not data:
        raise ValueError("The uploaded file is empty; choose a PNG or JPEG photo of a digit.")
    if len(data) > max_bytes:
        raise ValueError(
            f"The uploaded file is {len(data) / 2**20:.1f} MiB; "
            f"the limit is {max_bytes / 2**20:.0f} MiB. "
            "Crop or shrink the photo first."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ValueError(
                        f"The image is {width}x{height} = {width * height / 1e6:.0f} "
                        "megapixels; the "
                        f"limit is {max_pixels / 1e6:.0f}. Shrink the photo first."
                    )
                notes = (
                    ("Animated image: using its first frame.",)
                    if getattr(image, "n_frames", 1) > 1
                    else ()
                )
                image.seek(0)
                image.load()
                pixels = _to_uint8_array(ImageOps.exif_transpose(image), mode, max_side)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ValueError(
            f"The image is too large to decode safely ({error}). Shrink the photo first."
        ) from None
    except UnidentifiedImageError:
        raise ValueError(
            f"The file is not an image this page can read; upload one of {', '.join(FORMATS)}."
        ) from None
    except (OSError, SyntaxError, EOFError) as error:
        raise ValueError(
            f"The image file is corrupt or truncated ({error}); try exporting it again."
        ) from None
    return DecodedImage(pixels=pixels, notes=notes)


def decode_image(
    data: bytes, channels: str = "grayscale", *, side: int = EXPLORER_SIDE
) -> np.ndarray:
    """Uploaded image bytes -> (h, w, 1) grayscale or (h, w, 3) R/G/B float64 in [0, 1].

    Decoded by `decode_upload` with the explorer's caps, shrunk so the longer side is at most
    `side`. Raises ValueError for an empty, too large, corrupt or non-image file.
    """
    if channels not in ("grayscale", "RGB"):
        raise ValueError(f'channels must be "grayscale" or "RGB", got {channels!r}')
    decoded = decode_upload(
        data,
        max_bytes=EXPLORER_MAX_BYTES,
        max_pixels=EXPLORER_MAX_PIXELS,
        max_side=side,
        mode="L" if channels == "grayscale" else "RGB",
    )
    pixels = decoded.pixels.astype(np.float64) / 255.0
    return pixels.reshape(*pixels.shape[:2], -1)


def _to_uint8_array(image: Image.Image, mode: str, max_side: int) -> np.ndarray:
    """A decoded Pillow image -> uint8 pixels in `mode` (see decode_upload), longer side at most
    max_side."""
    if image.mode in SIXTEEN_BIT_MODES:
        wide = np.clip(np.asarray(image, dtype=np.float64), 0, 65535)
        image = Image.fromarray(np.round(wide * (255.0 / 65535.0)).astype(np.uint8))
    if mode == "auto":
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        mode = "RGBA" if has_alpha else "L"
    image = image.convert(mode)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8)


def photo_ink(pixels: np.ndarray) -> np.ndarray:
    """Light-on-dark ink (H, W) float32 in [0, 1] of a photo's pixels (as from `decode_upload`).

    Ink below Otsu's threshold (paper) becomes 0, the rest is stretched to [0, 1]. Raises
    cnnviz.preprocess.NothingDrawn when nothing stands out from the paper.
    """
    ink = ink_image(pixels)
    smooth = np.asarray(Image.fromarray(ink).filter(ImageFilter.MedianFilter(3)), dtype=np.float32)
    threshold = otsu_threshold(smooth)
    return np.clip((smooth - threshold) / max(float(smooth.max()) - threshold, 1e-6), 0.0, 1.0)


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold of values in [0, 1]: the split maximising the between-class variance."""
    counts, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    centres = (edges[:-1] + edges[1:]) / 2
    weight_low = np.cumsum(counts)  # pixels at or below each bin
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(counts * centres)
    mean_low = sum_low / np.maximum(weight_low, 1)
    mean_high = (sum_low[-1] - sum_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(edges[int(np.argmax(between)) + 1])
