"""`cnnviz.lenet`, the documented address of `cnnviz.nn.lenet`: one module under both names."""

import sys

from cnnviz.nn import lenet

sys.modules[__name__] = lenet
