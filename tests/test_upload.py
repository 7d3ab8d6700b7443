"""decode_upload: safe decoding of untrusted image bytes into uint8 arrays."""

import io

import numpy as np
import pytest
from PIL import Image

from cnnviz.data import upload
from cnnviz.data.preprocess import NothingDrawn, canvas_to_mnist, preprocess_steps
from cnnviz.data.upload import decode_upload, otsu_threshold, photo_ink


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def digit_photo(height: int = 60, width: int = 40) -> np.ndarray:
    """Dark ink (a thick bar) on light paper, uint8 grayscale."""
    paper = np.full((height, width), 230, dtype=np.uint8)
    paper[10:50, 15:25] = 30
    return paper


def test_decode_upload_png_grayscale_round_trips():
    pixels = digit_photo()
    decoded = decode_upload(encode(Image.fromarray(pixels)))
    np.testing.assert_array_equal(decoded.pixels, pixels)
    assert decoded.notes == ()


def test_decode_upload_colour_jpeg_becomes_grayscale():
    rgb = np.repeat(digit_photo()[..., None], 3, axis=2)
    decoded = decode_upload(encode(Image.fromarray(rgb), "JPEG", quality=95))
    assert decoded.pixels.shape == (60, 40) and decoded.pixels.dtype == np.uint8
    np.testing.assert_allclose(decoded.pixels, digit_photo(), atol=12)


def test_decode_upload_keeps_transparency_as_rgba():
    rgba = np.zeros((30, 30, 4), dtype=np.uint8)
    rgba[5:25, 12:18] = 255
    decoded = decode_upload(encode(Image.fromarray(rgba)))
    np.testing.assert_array_equal(decoded.pixels, rgba)


def test_decode_upload_sixteen_bit_png_is_scaled_to_eight_bits():
    wide = digit_photo().astype(np.uint16) * 257  # 0..255 -> 0..65535
    image = Image.fromarray(wide)
    assert image.mode.startswith("I;16")
    np.testing.assert_array_equal(decode_upload(encode(image)).pixels, digit_photo())


def test_decode_upload_animated_gif_gives_first_frame_with_note():
    frames = [Image.fromarray(np.full((10, 10), value, dtype=np.uint8)) for value in (40, 200)]
    decoded = decode_upload(encode(frames[0], "GIF", save_all=True, append_images=frames[1:]))
    assert (decoded.pixels == 40).all()
    assert "first frame" in decoded.notes[0]


def test_decode_upload_large_photo_is_shrunk():
    decoded = decode_upload(encode(Image.fromarray(np.zeros((1200, 900), dtype=np.uint8))))
    assert decoded.pixels.shape == (upload.MAX_SIDE, 420)


def test_decode_upload_follows_exif_orientation():
    image = Image.fromarray(digit_photo(60, 40))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    decoded = decode_upload(encode(image, "JPEG", exif=exif, quality=95))
    assert decoded.pixels.shape == (40, 60)


def test_decode_upload_dark_on_light_photo_reads_like_light_on_dark():
    photo = decode_upload(encode(Image.fromarray(digit_photo()))).pixels
    np.testing.assert_allclose(
        canvas_to_mnist(photo), canvas_to_mnist(255 - digit_photo()), atol=1e-5
    )


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"%PDF-1.4 definitely not a picture", "not an image"),
        (encode(Image.fromarray(digit_photo()), "TIFF"), "not an image"),
    ],
)
def test_decode_upload_rejects_non_images(data, message):
    with pytest.raises(ValueError, match=message):
        decode_upload(data)


def test_decode_upload_rejects_truncated_png():
    data = encode(
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200), dtype=np.uint8))
    )
    with pytest.raises(ValueError, match="corrupt or truncated"):
        decode_upload(data[: len(data) // 2])


def test_decode_upload_rejects_too_many_bytes():
    with pytest.raises(ValueError, match="limit is 1 MiB"):
        decode_upload(b"\0" * (2 * 2**20), max_bytes=2**20)


def test_decode_upload_rejects_too_many_pixels_before_decoding():
    data = encode(Image.new("L", (3000, 3000)))  # compresses to a few kB
    with pytest.raises(ValueError, match="megapixels"):
        decode_upload(data, max_pixels=1_000_000)


def test_decode_upload_keeps_pillow_decompression_bomb_guard(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    data = encode(Image.new("L", (150, 150)))  # over Pillow's limit, under ours
    with pytest.raises(ValueError, match="too large to decode safely"):
        decode_upload(data, max_pixels=10**9)


def noisy_photo() -> np.ndarray:
    """A dark bar on grainy paper lit unevenly from one side, uint8 (120, 160)."""
    rng = np.random.default_rng(7)
    paper = 200 + np.linspace(-25, 25, 160)[None, :] + rng.normal(0, 8, (120, 160))
    paper[20:100, 70:82] = 45 + rng.normal(0, 8, (80, 12))
    return np.clip(paper, 0, 255).astype(np.uint8)


def test_otsu_threshold_splits_two_populations():
    values = np.concatenate([np.full(900, 0.1), np.full(100, 0.8)])
    assert 0.1 < otsu_threshold(values) <= 0.8


def test_photo_ink_removes_paper_grain_and_shading():
    ink = photo_ink(noisy_photo())
    assert ink.dtype == np.float32 and ink.max() == pytest.approx(1.0)
    assert preprocess_steps(ink).cropped.shape == pytest.approx((80, 12), abs=2)
    assert not ink[:, :60].any() and not ink[:, 95:].any()


def test_photo_ink_of_blank_paper_is_nothing_drawn():
    with pytest.raises(NothingDrawn):
        photo_ink(np.full((50, 50), 210, dtype=np.uint8))


# --- the explorer's decoder -----------------------------------------------------------------


def png_bytes(array: np.ndarray, mode: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, format="PNG")
    return buffer.getvalue()


def test_decode_image_gives_grayscale_or_rgb_in_unit_range():
    rgb = np.zeros((10, 20, 3), np.uint8)
    rgb[:, :, 0] = 255
    data = png_bytes(rgb, "RGB")
    gray = upload.decode_image(data, "grayscale")
    colour = upload.decode_image(data, "RGB")
    assert gray.shape == (10, 20, 1) and colour.shape == (10, 20, 3)
    assert np.allclose(colour[:, :, 0], 1) and np.allclose(colour[:, :, 1:], 0)
    assert 0 < gray.max() < 1  # red is mid-gray in luminance


def test_decode_image_shrinks_large_images():
    big = upload.decode_image(png_bytes(np.zeros((300, 150), np.uint8), "L"))
    assert big.shape == (upload.EXPLORER_SIDE, upload.EXPLORER_SIDE // 2, 1)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"not an image at all", "not an image"),
        (png_bytes(np.eye(64, dtype=np.uint8), "L")[:-30], "corrupt or truncated"),
        (b"x" * (upload.EXPLORER_MAX_BYTES + 1), "limit"),
    ],
)
def test_decode_image_refuses_bad_files_with_a_message(data, message):
    with pytest.raises(ValueError, match=message):
        upload.decode_image(data)
