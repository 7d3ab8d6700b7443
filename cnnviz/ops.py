"""`cnnviz.ops`, the documented address of `cnnviz.nn.ops`: one module under both names."""

import sys

from cnnviz.nn import ops

sys.modules[__name__] = ops
