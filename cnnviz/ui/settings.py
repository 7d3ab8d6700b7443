"""Persistent settings: widgets bound to plain session-state names, mirrored in the URL.

Settings live in st.session_state under plain names ("padding", "stride_h", ...) so they survive
page switches, and the main ones are mirrored in st.query_params so a view can be shared as a link.
Each widget has its own key "_w_<name>"; Streamlit drops a widget's key when its page is left, and
`synced_widget` restores it from the plain name on return.
"""

from collections.abc import Callable

import streamlit as st

# Session-state keys that more than one page reads (each page's own keys stay in the page).
DATASET_KEY = "dataset"  # the explorer's dataset name, also shown on the home page
TRAINED_MODEL_KEY = "trained_model_path"  # the Training page's model, offered on the Draw page


def _from_url(name: str, default) -> tuple[object, bool]:
    """(value, readable): the query-string value of `name` parsed like `default`; `default` and
    readable=False when it is there but cannot be parsed."""
    raw = st.query_params.get(name)
    if raw is None:
        return default, True
    try:
        return type(default)(raw), True
    except ValueError:
        return default, False


def restored(name: str, default, *, url: bool = True, options=None, bounds=None):
    """The persistent setting `name`: from session state, else the link (on first use), else
    `default`. A link value that cannot be read or is out of range is replaced by the default,
    with a warning."""
    state = st.session_state
    link_is_good, first_use = True, name not in state
    if first_use:
        state[name], link_is_good = _from_url(name, default) if url else (default, True)
    value = state[name]
    if (options is not None and value not in options) or (
        bounds is not None and not bounds[0] <= value <= bounds[1]
    ):
        link_is_good = link_is_good and not (first_use and url and name in st.query_params)
        value = state[name] = default if options is None or default in options else options[0]
        state.pop(f"_w_{name}", None)
    if not link_is_good:
        allowed = f"{bounds[0]} to {bounds[1]}" if bounds is not None else (
            ", ".join(map(str, options)) if options is not None else f"a {type(default).__name__}")
        st.warning(f"The link's {name}={st.query_params[name]} is not a valid setting (allowed: "
                   f"{allowed}); showing {value} instead.")
    return value


def published(name: str, value, *, url: bool = True):
    """Keep `value` as the persistent setting `name` (and in the link): for a setting a page
    sets without a widget of its own (the scrub component's). Returns value."""
    state = st.session_state
    if state.get(name) != value:
        state[name] = value
        state.pop(f"_w_{name}", None)  # another page's widget for it starts from the new value
    if url and st.query_params.get(name) != str(value):  # each write is a message
        st.query_params[name] = str(value)
    return value


def synced_widget(
    widget: Callable,
    label: str,
    name: str,
    default,
    *,
    url: bool = True,
    options=None,
    bounds=None,
    **kwargs,
):
    """Render `widget` bound to the persistent setting `name` (restored from the URL on first use).

    A link value that cannot be read or is out of range is replaced by the default, with a warning.
    """
    state = st.session_state
    value = restored(name, default, url=url, options=options, bounds=bounds)
    if f"_w_{name}" not in state:
        state[f"_w_{name}"] = value
    if options is not None:
        kwargs["options"] = options
    if bounds is not None:
        kwargs["min_value"], kwargs["max_value"] = bounds
    state[name] = widget(label, key=f"_w_{name}", **kwargs)
    if url and st.query_params.get(name) != str(state[name]):  # each write is a message
        st.query_params[name] = str(state[name])
    return state[name]


def set_setting(name: str, value) -> None:
    """Change a persistent setting and its widget (call from a button's on_click)."""
    st.session_state[name] = st.session_state[f"_w_{name}"] = value


def synced_choice(
    label: str, name: str, options, default=None, *, url: bool = True, widget=st.radio, **kwargs
):
    """A radio/selectbox whose value persists across pages (and in the URL)."""
    options = list(options)
    return synced_widget(
        widget,
        label,
        name,
        options[0] if default is None else default,
        options=options,
        url=url,
        **kwargs,
    )


def synced_number(
    label: str, name: str, default, bounds, *, url: bool = False, widget=st.number_input, **kwargs
):
    """A number input or slider whose value persists across pages."""
    return synced_widget(widget, label, name, default, bounds=bounds, url=url, **kwargs)


def guarded(compute: Callable, *args, name: str) -> tuple[tuple, object]:
    """(args, compute(*args)); on ValueError show it with st.error and return the last good args
    and their result instead (st.stop() when no settings have worked yet)."""
    state = st.session_state
    try:
        result = compute(*args)
    except ValueError as error:
        st.error(f"{error}.")
        if f"last_good_{name}" not in state:
            st.stop()
        st.caption("Showing the last settings that worked.")
        args = state[f"last_good_{name}"]
        return args, compute(*args)
    state[f"last_good_{name}"] = args
    return args, result
