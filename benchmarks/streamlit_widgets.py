"""Streamlit's widget elements read as the browser reads them, for the protocol client
(streamlit_protocol.py): what a control is (Widget), the value its element holds, and the
WidgetState that sets it to another value.

The scrub component (cnnviz/ui/scrub) is one control here, of kind "component": a student's
change to it is what its JavaScript sends when the student settles, {"settings": ...} with one
setting moved, as one WidgetState (the many redraws before the settle never reach the server).
"""

import json
import random
from dataclasses import dataclass

from streamlit.proto.Checkbox_pb2 import Checkbox
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState

WIDGET_KINDS = ("radio", "selectbox", "number_input", "slider", "checkbox", "button",
                "file_uploader", "bidi_component")
SCRUB_COMPONENT = "cnnviz.scrub"


@dataclass(frozen=True)
class Widget:
    """A control as its element describes it: enough to set it to another value."""

    id: str  # "$$ID-<hash>-<key>"
    kind: str  # radio, selectbox, number_input, slider, select_slider, checkbox, toggle, button,
    # file_uploader
    label: str
    options: tuple[str, ...] = ()  # radio, selectbox, select_slider
    bounds: tuple[float, float, float] | None = None  # (min, max, step) of numbers and sliders
    disabled: bool = False
    fragment_id: str = ""  # the fragment the widget belongs to ("" for the page)
    data: str = ""  # a component's data from the server (JSON)

    @property
    def key(self) -> str:
        """The key the page gave the widget (the id's last part)."""
        return self.id.split("-", 2)[-1]

    def state(self, value) -> WidgetState:
        """The WidgetState that says this widget holds `value` (an option, number or bool; a
        component's settings)."""
        state = WidgetState(id=self.id)
        if self.kind in ("radio", "selectbox"):
            state.string_value = value
        elif self.kind == "select_slider":
            state.string_array_value.data[:] = [value]
        elif self.kind == "slider":
            state.double_array_value.data[:] = [value]
        elif self.kind == "number_input":
            state.double_value = value
        elif self.kind in ("checkbox", "toggle"):
            state.bool_value = value
        elif self.kind == "component":  # what the scrub component's settle sends
            state.json_value = json.dumps({"settings": value})
        else:
            raise ValueError(f"widget {self.label!r} is a {self.kind}: click it or upload to it, "
                             "do not set it")
        return state

    def another_value(self, current, rng: random.Random):
        """A value a student might pick next: another option, one step, the other side."""
        if self.kind == "component":
            return scrub_change(json.loads(self.data), rng)
        if self.options:
            return rng.choice([option for option in self.options if option != current])
        if self.kind in ("checkbox", "toggle"):
            return not current
        low, high, step = self.bounds
        if self.kind == "slider":  # drag anywhere along the rail
            choices = [low + k * step for k in range(round((high - low) / step) + 1)]
        else:  # the - and + buttons
            current = low if current is None else current
            choices = [current - step, current + step]
        choices = [v for v in choices if low <= v <= high and v != current]
        if not choices:
            raise ValueError(f"widget {self.label!r} has no other value within {low}..{high}")
        return rng.choice(choices)


def scrub_change(data: dict, rng: random.Random) -> dict:
    """The scrub component's settings with one of them moved, as a student settles it: a stride,
    the padding, bias or activation (convolution) or the mode or window (pooling), or the cell."""
    settings, kind = json.loads(json.dumps(data["settings"])), data["kind"]
    bounds, axis = data["bounds"], rng.randrange(2)
    choice = rng.choice(["stride", "position", "padding" if kind == "conv" else "mode",
                         "bias" if kind == "conv" else "window"])
    if choice in ("stride", "window"):
        settings[choice][axis] = rng.choice([v for v in range(1, 4) if v != settings[choice][axis]])
    elif choice == "position":
        now = settings["position"][axis]  # a cell up to as far again (moved inside if outside)
        settings["position"][axis] = rng.choice([v for v in range(2 * now + 2) if v != now])
    elif choice == "padding":
        settings["padding"] = rng.choice([p for p in ("valid", "same", "explicit")
                                          if p != settings["padding"]])
    elif choice == "mode":
        settings["mode"] = "avg" if settings["mode"] == "max" else "max"
    else:
        low, high = bounds["bias"]
        settings["bias"] = rng.choice([b / 10 for b in range(round(low * 10), round(high * 10) + 1)
                                       if b / 10 != settings["bias"]])
    return settings


def held_value(state: WidgetState):
    """The value a WidgetState holds, as Widget.state takes it."""
    kind = state.WhichOneof("value")
    if kind == "json_value":
        return json.loads(state.json_value)["settings"]
    if kind in ("string_array_value", "double_array_value"):
        return getattr(state, kind).data[0]
    return getattr(state, kind)


def read_widget(element, fragment_id: str) -> tuple[Widget, WidgetState | None, bool] | None:
    """(widget, its state in the element, whether the server set it) of a widget element."""
    kind = element.WhichOneof("type")
    if kind not in WIDGET_KINDS:
        return None
    proto = getattr(element, kind)
    if kind == "bidi_component":  # the browser holds no state of it until the student settles
        if proto.component_name != SCRUB_COMPONENT:
            return None
        data = json.loads(proto.json)
        return Widget(proto.id, "component", f"scrub {data['kind']}", fragment_id=fragment_id,
                      data=proto.json), None, False
    set_by_server = kind not in ("button", "file_uploader") and proto.set_value
    value, options, bounds = None, (), None
    if kind in ("radio", "selectbox"):
        options = tuple(proto.options)
        if set_by_server and proto.HasField("raw_value"):
            value = proto.raw_value
        elif proto.HasField("default"):
            value = options[proto.default]
    elif kind == "number_input":
        bounds = (proto.min if proto.has_min else -1e300, proto.max if proto.has_max else 1e300,
                  proto.step or 1)
        value = proto.value if set_by_server and proto.HasField("value") else (
            proto.default if proto.HasField("default") else None)
    elif kind == "slider" and proto.type == Slider.SELECT_SLIDER:
        kind, options = "select_slider", tuple(proto.options)
        value = proto.raw_value[0] if set_by_server else options[int(proto.default[0])]
    elif kind == "slider":
        bounds = (proto.min, proto.max, proto.step)
        value = (proto.value if set_by_server else proto.default)[0]
    elif kind == "checkbox":
        kind = "toggle" if proto.type == Checkbox.TOGGLE else "checkbox"
        value = proto.value if set_by_server else proto.default
    widget = Widget(proto.id, kind, proto.label, options, bounds, proto.disabled, fragment_id)
    return widget, None if value is None else widget.state(value), set_by_server
