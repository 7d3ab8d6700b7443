"""The scrub component's settings: checked and completed before they go to the browser and when
they come back, so the page only ever computes with settings NumPy accepts.

Plain JSON values (lists, numbers, strings): they travel to the browser and back as they are.
"""

from collections.abc import Mapping, Sequence

import numpy as np

from cnnviz.nn import ops
from cnnviz.nn.kernels import MAX_FILTERS, parse_kernel_grid

PADDINGS = ("valid", "same", "explicit")
STRIDES = (1, 7)  # the pages' bounds: the component's sliders use the same
PADS = (0, 10)
WINDOWS = (1, 7)
BIAS = (-5.0, 5.0)  # the bias slider's range, widened to hold a bias set outside it
BIAS_LINK = (-1e6, 1e6)  # the biases a link may set (a bias in the link outside is refused)
# The controls' bounds, sent to the browser with the data: stated once, here.
BOUNDS = {"stride": STRIDES, "pad": PADS, "window": WINDOWS, "bias": BIAS,
          "activations": list(ops.ACTIVATIONS)}
CONV_DEFAULTS = {"padding": "valid", "pad": [1, 1], "stride": [1, 1], "bias": 0.0,
                 "activation": "none", "position": None}
POOL_DEFAULTS = {"mode": "max", "window": [2, 2], "stride": [2, 2], "position": None}


def _image(image) -> np.ndarray:
    """(h, w) float32 of a grayscale image given as (h, w) or (h, w, 1); ValueError otherwise."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim != 2 or min(image.shape) < 1 or not np.isfinite(image).all():
        raise ValueError(
            f"image must be one grayscale (h, w) array of finite values, got shape {image.shape}; "
            "show one channel at a time"
        )
    return image


def _pair(value, name: str, bounds: tuple[int, int]) -> list[int]:
    """[a, b] of ints within bounds; ValueError naming `name` and the bounds otherwise."""
    pair = list(value) if isinstance(value, (list, tuple)) else [value, value]
    if len(pair) != 2 or not all(
        isinstance(v, (int, np.integer)) and bounds[0] <= v <= bounds[1] for v in pair
    ):
        raise ValueError(f"{name} must be two whole numbers from {bounds[0]} to {bounds[1]}, "
                         f"got {value!r}")
    return [int(pair[0]), int(pair[1])]


def _position(position, out_hw, n_maps: int) -> list[int]:
    """[i, j, map] inside the output, the centre when unset; values outside are moved inside."""
    if position is None:
        position = [out_hw[0] // 2, out_hw[1] // 2, 0]
    i, j, k = (list(position) + [0])[:3]
    limits = (out_hw[0] - 1, out_hw[1] - 1, n_maps - 1)
    return [int(min(max(int(v), 0), top)) for v, top in zip((i, j, k), limits)]


def conv_settings(image, kernels: Sequence, settings: Mapping) -> tuple[np.ndarray, dict]:
    """(image (h, w) float32, complete settings with "kernels") of a convolution, checked.

    ValueError naming the bad setting: padding, pad, stride, bias, activation, a kernel cell
    (kernels.parse_kernel_grid's message), or a kernel larger than the padded input.
    """
    image, settings = _image(image), {**CONV_DEFAULTS, **settings}
    grids = [parse_kernel_grid(k) for k in kernels]
    if not 1 <= len(grids) <= MAX_FILTERS or len({g.shape for g in grids}) != 1:
        raise ValueError(f"kernels must be 1 to {MAX_FILTERS} grids of one shape")
    if settings["padding"] not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, got {settings['padding']!r}")
    pad, stride = _pair(settings["pad"], "pad", PADS), _pair(settings["stride"], "stride", STRIDES)
    if settings["activation"] not in ops.ACTIVATIONS:
        raise ValueError(f"activation must be one of {list(ops.ACTIVATIONS)}, "
                         f"got {settings['activation']!r}")
    bias = float(settings["bias"])
    if not np.isfinite(bias):
        raise ValueError(f"bias must be a finite number, got {settings['bias']!r}")
    padding = tuple(pad) if settings["padding"] == "explicit" else settings["padding"]
    out_hw = ops.conv_output_hw(image.shape, grids[0].shape, padding, stride)
    labels = list(settings.get("presets") or [])[: len(grids)]
    labels += [f"filter {f + 1}" for f in range(len(labels), len(grids))]
    return image, {
        **settings, "pad": pad, "stride": stride, "bias": bias, "presets": labels,
        "kernels": [g.tolist() for g in grids],
        "position": _position(settings["position"], out_hw, len(grids)),
    }


def conv_padding(settings: Mapping):
    """The ops padding argument of checked conv settings: "valid", "same" or (ph, pw)."""
    return tuple(settings["pad"]) if settings["padding"] == "explicit" else settings["padding"]


def pool_settings(image, settings: Mapping) -> tuple[np.ndarray, dict]:
    """(image (h, w) float32, complete settings) of a pooling layer, checked; ValueError naming
    the bad setting, or a window larger than the image."""
    image, settings = _image(image), {**POOL_DEFAULTS, **settings}
    if settings["mode"] not in ("max", "avg"):
        raise ValueError(f'mode must be "max" or "avg", got {settings["mode"]!r}')
    window = _pair(settings["window"], "window", WINDOWS)
    stride = _pair(settings["stride"], "stride", STRIDES)
    out_hw = ops.conv_output_hw(image.shape, window, "valid", stride)
    position = _position(settings["position"], out_hw, 1)[:2]
    return image, {**settings, "window": window, "stride": stride, "position": position}
