"""Drive the scrub component from AppTest as the browser does (tests, benchmarks/explorer.py):
read the settings the page gave the component, change some, and send them back as its settle."""

import json

from streamlit.testing.v1 import AppTest

from cnnviz.ui.scrub import settled_key
from cnnviz.ui.scrub.page import CONV_KEY, POOL_KEY

KEYS = {"conv": CONV_KEY, "pool": POOL_KEY}


def shown(at: AppTest, kind: str = "conv") -> dict:
    """The data the page sent to its `kind` ("conv" or "pool") component in the last run."""
    key = KEYS[kind]
    mounted = [element.proto for element in at.get("bidi_component")
               if element.proto.id.endswith(f"-{key}")]
    assert len(mounted) == 1, f"the page mounts one {key} component, found {len(mounted)}"
    return json.loads(mounted[0].json)


def settle(at: AppTest, kind: str = "conv", *, run: bool = True, **changes) -> AppTest:
    """Run the page after the student settles the component with `changes` to its settings
    (run=False: the settle waits for the caller's at.run(), as a benchmark times it)."""
    settings = {**shown(at, kind)["settings"], **changes}
    at.session_state[settled_key(KEYS[kind])] = settings
    return at.run() if run else at


def settle_kernel(at: AppTest, f: int, grid, label: str, *, run: bool = True) -> AppTest:
    """Run the page after the student types kernel `grid` into filter f (labelled `label`)."""
    settings = shown(at)["settings"]
    kernels, presets = list(settings["kernels"]), list(settings["presets"])
    kernels[f], presets[f] = grid, label
    return settle(at, kernels=kernels, presets=presets, run=run)
