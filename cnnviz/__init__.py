"""cnnviz: NumPy convolution and pooling layers, forward and backward, and the figures that explain them."""

from cnnviz.ops import conv_backward, conv_forward, pool_backward, pool_forward

__all__ = ["conv_backward", "conv_forward", "pool_backward", "pool_forward"]
