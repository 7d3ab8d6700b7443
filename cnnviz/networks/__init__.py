"""Networks as data: layer specs, their analysis (shapes, parameters, multiply-adds, receptive
fields), the course's networks and the Training page's models, and export as Keras code.

`cnnviz.networks` keeps its documented names: `PRESETS` and `TRAINING_NETWORKS` are
`cnnviz.networks.presets`'.
"""

from cnnviz.networks.presets import PRESETS, TRAINING_NETWORKS

__all__ = ["PRESETS", "TRAINING_NETWORKS"]
