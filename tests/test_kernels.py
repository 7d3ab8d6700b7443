"""cnnviz.nn.kernels: presets, their sizes, hand-edited grids and stacking into W."""

import numpy as np
import pytest

from cnnviz.nn import kernels


@pytest.mark.parametrize("name", kernels.PRESETS)
def test_preset_kernel_has_every_listed_size(name):
    for size in kernels.PRESET_SIZES[name]:
        kernel = kernels.preset_kernel(name, size)
        assert kernel.shape == (size, size) and np.isfinite(kernel).all()


def test_preset_kernel_sizes_stay_within_one_to_seven():
    sizes = {size for allowed in kernels.PRESET_SIZES.values() for size in allowed}
    assert min(sizes) == 1 and max(sizes) == kernels.MAX_SIZE == 7


def test_preset_kernel_classic_three_by_three_values():
    assert np.array_equal(kernels.preset_kernel("Sobel left"), [[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    assert np.array_equal(
        kernels.preset_kernel("Sobel right"), [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    )
    assert np.array_equal(kernels.preset_kernel("Sobel top"), [[1, 2, 1], [0, 0, 0], [-1, -2, -1]])
    assert np.array_equal(
        kernels.preset_kernel("Sobel bottom"), [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]
    )
    assert np.array_equal(kernels.preset_kernel("sharpen"), [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    assert kernels.preset_kernel("outline (Laplacian)").sum() == 0
    assert np.allclose(kernels.preset_kernel("Gaussian blur"), np.outer([1, 2, 1], [1, 2, 1]) / 16)


@pytest.mark.parametrize("size", [1, 3, 5, 7])
def test_preset_kernel_blurs_sum_to_one_and_identity_is_centred(size):
    assert kernels.preset_kernel("box blur", size).sum() == pytest.approx(1)
    assert kernels.preset_kernel("Gaussian blur", size).sum() == pytest.approx(1)
    identity = kernels.preset_kernel("identity", size)
    assert identity[size // 2, size // 2] == 1 and identity.sum() == 1


def test_preset_kernel_larger_sobel_differentiates_across_columns():
    kernel = kernels.preset_kernel("Sobel left", 5)
    ramp = np.tile(np.arange(5.0), (5, 1))  # brighter to the right
    assert (kernel * ramp).sum() < 0 and np.allclose(kernel.sum(axis=1), 0)


def test_preset_kernel_random_is_seeded_he_normal():
    a = kernels.preset_kernel("random He-normal", 7, seed=3, fan_in_channels=3)
    assert np.array_equal(
        a, kernels.preset_kernel("random He-normal", 7, seed=3, fan_in_channels=3)
    )
    assert not np.array_equal(
        a, kernels.preset_kernel("random He-normal", 7, seed=4, fan_in_channels=3)
    )
    draws = kernels.preset_kernel("random He-normal", 7, seed=0, fan_in_channels=1)
    assert 0.5 * np.sqrt(2 / 49) < draws.std() < 1.5 * np.sqrt(2 / 49)


def test_preset_kernel_refuses_unknown_name_and_size():
    with pytest.raises(ValueError, match="preset must be one of"):
        kernels.preset_kernel("blurry")
    with pytest.raises(ValueError, match="not available for 'sharpen'"):
        kernels.preset_kernel("sharpen", 5)


def test_parse_kernel_grid_accepts_numbers_and_numeric_text():
    grid = kernels.parse_kernel_grid([[1, "2.5"], [" -3 ", 4.0]])
    assert grid.dtype == np.float64 and np.array_equal(grid, [[1, 2.5], [-3, 4]])


@pytest.mark.parametrize(
    "bad, message",
    [
        (None, "is empty"),
        ("", "is empty"),
        ("abc", "not a number"),
        ("nan", "finite"),
        (float("inf"), "finite"),
        ("-inf", "finite"),
    ],
)
def test_parse_kernel_grid_names_the_bad_cell(bad, message):
    with pytest.raises(ValueError, match=rf"row 2, column 1\).*{message}"):
        kernels.parse_kernel_grid([[1, 2], [bad, 3]])


def test_parse_kernel_grid_refuses_ragged_empty_and_too_large():
    with pytest.raises(ValueError, match="different lengths"):
        kernels.parse_kernel_grid([[1, 2], [3]])
    with pytest.raises(ValueError, match="empty"):
        kernels.parse_kernel_grid([])
    with pytest.raises(ValueError, match="largest kernel is 7x7"):
        kernels.parse_kernel_grid(np.zeros((8, 8)))


def test_layer_weights_stacks_kernels_for_every_input_channel():
    a, b = np.arange(9.0).reshape(3, 3), np.ones((3, 3))
    W = kernels.layer_weights([a, b], c_prev=3)
    assert W.shape == (3, 3, 3, 2)
    assert all(
        np.array_equal(W[:, :, c, 0], a) and np.array_equal(W[:, :, c, 1], b) for c in range(3)
    )


def test_layer_weights_refuses_mixed_shapes_and_too_many_filters():
    with pytest.raises(ValueError, match="same shape"):
        kernels.layer_weights([np.ones((3, 3)), np.ones((5, 5))], 1)
    with pytest.raises(ValueError, match="1 to 6"):
        kernels.layer_weights([np.ones((3, 3))] * 7, 1)
