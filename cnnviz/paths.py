"""Where cnnviz's files live: the Streamlit app, the data that ships with it, the runs folder.

From a checkout (or an editable install) that is the repository itself. After `pip install .`
the app, its `.streamlit/config.toml` and `data/` are installed as shared data under
`<prefix>/share/cnnviz/`, and runs go to `./runs` of the folder the command starts in.
`CNNVIZ_RUNS_DIR` overrides the runs folder everywhere (every replica of a server shares one).
"""

import os
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
IS_CHECKOUT = (CHECKOUT / "app.py").is_file()
HOME = CHECKOUT if IS_CHECKOUT else Path(sys.prefix) / "share" / "cnnviz"
APP = HOME / "app.py"  # the Streamlit frame; its pages are in HOME / "app_pages"
DATA_DIR = HOME / "data"  # shipped digits and model; the full MNIST may be added here
PRETRAINED_MODEL = DATA_DIR / "lenet5_mnist.npz"  # the Draw page's LeNet-5 (98.35% on MNIST), NumPy
# the same model as trained; scripts/export_pretrained.py turns it into PRETRAINED_MODEL
PRETRAINED_KERAS = DATA_DIR / "lenet5_mnist.keras"
HAPROXY_CONFIG = HOME / "deploy" / "haproxy.cfg"  # the proxy before `cnnviz app --replicas K`
RUNS_ENV = "CNNVIZ_RUNS_DIR"


def runs_dir() -> Path:
    """The runs folder: $CNNVIZ_RUNS_DIR, else runs/ of the checkout or of the current folder."""
    if os.environ.get(RUNS_ENV):
        return Path(os.environ[RUNS_ENV])
    return (CHECKOUT if IS_CHECKOUT else Path.cwd()) / "runs"
