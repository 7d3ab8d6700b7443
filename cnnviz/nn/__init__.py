"""The layer math in NumPy: convolution and pooling forward and backward (`ops`, and `loops`, the
same with plain loops), the kernels, LeNet-5 and the homework's dense network built on them, and
what the explorer explains of each step (`explain`)."""
