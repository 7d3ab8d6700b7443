"""`cnnviz.dense`, the documented address of `cnnviz.nn.dense`: one module under both names."""

import sys

from cnnviz.nn import dense

sys.modules[__name__] = dense
