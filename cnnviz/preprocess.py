"""`cnnviz.preprocess`, the documented address of `cnnviz.data.preprocess`: one module under both
names."""

import sys

from cnnviz.data import preprocess

sys.modules[__name__] = preprocess
