"""cnnviz: NumPy convolution and pooling layers, forward and backward, and the figures that
explain them.

`cnnviz.conv_forward`, `conv_backward`, `pool_forward` and `pool_backward` are `cnnviz.ops`'s,
imported on first use: `cnnviz app` starts Streamlit without loading NumPy first.
"""

__all__ = ["conv_backward", "conv_forward", "pool_backward", "pool_forward"]


def __getattr__(name: str):
    if name in __all__:
        from cnnviz.nn import ops

        return getattr(ops, name)
    raise AttributeError(f"module 'cnnviz' has no attribute {name!r}")
