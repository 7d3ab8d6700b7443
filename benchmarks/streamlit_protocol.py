"""A Streamlit session held over the websocket the way the browser holds it, without a browser.

What the browser does (Streamlit 1.67: the server's web/server/starlette/starlette_websocket.py and
runtime/app_session.py; the frontend's connection/src/WebsocketConnection.tsx,
ForwardMessageCache.ts and app/src/App.tsx), and this client with it:
- GET /_stcore/health and /_stcore/host-config first. The health answer sets the `_streamlit_xsrf`
  cookie (and a sticky proxy sets its own); every later request carries the cookies.
- Open ws://HOST/_stcore/stream with the subprotocols ["streamlit", <xsrf token>, <session id to
  resume, on reconnect>] and an Origin header; binary frames are protobufs.
- The client speaks first: BackMsg.rerun_script, a ClientState with query_string, widget_states,
  page_script_hash (page_name, the URL's path, on the first run, before the pages are known),
  fragment_id (a fragment's own rerun), is_auto_rerun, cached_message_hashes and context_info.
- The server answers every run with ForwardMsgs: new_session (metadata.run.fragment_ids empty
  for a full run), navigation (with st.navigation: the page that runs, and every page's
  url_pathname and page_script_hash), deltas (elements;
  a widget carries its id, label, options and default, and value/raw_value when set_value says
  the server set it), page_info_changed (the query string), auto_rerun (a fragment's run_every),
  and last script_finished (FINISHED_SUCCESSFULLY, FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
  FINISHED_EARLY_FOR_RERUN when a newer run replaces it, FINISHED_WITH_COMPILE_ERROR).
- The server may also run a fragment unasked (cnnviz/ui/class_push.py reruns the class banner
  when the teacher shares): the same messages come with no request pending; the browser draws
  them, and so does this client, counting the run in pushed_runs. (A run pushed while the
  client's own request waits is indistinguishable from it: its script_finished ends that
  request, as the browser's "running" indicator ends.)
- Widget values live in the client: each widget's value is taken from its element the first time
  and whenever set_value is on, kept across runs, and the whole set is sent with every rerun;
  widgets absent from a full run are dropped. A button sends trigger_value once.
- An upload: BackMsg.file_urls_request names the file; the server answers file_urls_response
  (upload_url, file_id); the file goes there in a multipart HTTP PUT with the X-Xsrftoken header
  (the session must live in the process that gets it: a proxy must be sticky); the uploader's
  state (file_uploader_state_value) then carries its name, size and file_id into the next rerun.
- The message cache: deltas marked metadata.cacheable are kept by hash; their hashes go back with
  every rerun, and the server then sends ref_hash instead of a delta it has sent before. An entry
  not seen for global.maxCachedMessageAge (2) runs expires.
"""

import asyncio
import contextlib
import http.cookies
import random
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from benchmarks.streamlit_widgets import Widget, held_value, read_widget

CLOSE_SECONDS = 5.0  # the most a closing tab waits for its connection and its reader
MAX_CACHED_MESSAGE_AGE = 2  # Streamlit's global.maxCachedMessageAge default
NO_XSRF_TOKEN = "PLACEHOLDER_AUTH_TOKEN"  # what the browser sends without a cookie
FINISHED = {
    ForwardMsg.FINISHED_SUCCESSFULLY: "finished",
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY: "fragment",
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR: "compile error",
    ForwardMsg.FINISHED_EARLY_FOR_RERUN: "replaced",
}
class SessionLost(ConnectionError):
    """The websocket closed, or the server did not finish a run in time."""


class RunTimeout(SessionLost):
    """The server did not finish a run within the session's timeout."""


@dataclass
class Run:
    """What one script run sent back, and how long it took from the request."""

    seconds: float = 0.0
    status: str = ""  # FINISHED's values
    exceptions: list[str] = field(default_factory=list)  # tracebacks (st.exception boxes)
    error_boxes: list[str] = field(default_factory=list)  # st.error messages
    messages: int = 0
    kinds: Counter = field(default_factory=Counter)  # ForwardMsg type -> how many came
    bytes: int = 0
    chart_seconds: dict[str, float] = field(default_factory=dict)  # key -> when its delta came


@dataclass
class _Cached:
    element: object  # the cached delta's Element, or None for other cacheable messages
    fragment_id: str
    last_run: int


class StreamlitSession:
    """One browser tab's Streamlit session: open it, change widgets, switch pages, close it.

    Runs one at a time: every call sends one rerun and returns when its script_finished arrives.
    """

    def __init__(self, url: str, *, follow_auto_reruns: bool = False, timeout: float = 120):
        self.url = url.rstrip("/")
        self.follow_auto_reruns = follow_auto_reruns  # a fragment's run_every, as the browser
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.session_id = ""
        self.page_hash = ""
        self.pages: dict[str, str] = {}  # url_pathname -> page_script_hash
        self.query_string = ""
        self.widgets: dict[str, Widget] = {}  # the last run's widgets, by id
        self.chart_keys: set[str] = set()  # keys of the last run's Plotly charts, keyed containers
        self.states: dict[str, WidgetState] = {}  # the values held, as the browser holds them
        self.auto_reruns: dict[str, float] = {}  # fragment id -> interval (s)
        self.fragment_runs: list[float] = []  # seconds of each auto rerun followed
        self.auto_runs: list[Run] = []  # and what each sent
        self.pushed_runs: list[Run] = []  # runs the server started unasked (seconds: from
        # its new_session to its script_finished)
        self._pushed: Run | None = None
        self._pushed_at = 0.0
        self._page_widgets: dict[str, set[str]] = {}  # page hash -> widget ids seen on it
        self._cache: dict[str, _Cached] = {}
        self._runs_finished = 0
        self._websocket: ClientConnection | None = None
        self._reader: asyncio.Task | None = None
        self._poller: asyncio.Task | None = None
        self._run: Run | None = None
        self._started = 0.0  # perf_counter() when the current run was requested
        self._finished: asyncio.Future | None = None
        self._lock = asyncio.Lock()  # one run at a time (the user's, or an auto rerun)
        self._file_urls: dict[str, asyncio.Future] = {}  # upload request id -> its FileURLs

    # --- connecting ------------------------------------------------------------------------------

    async def open(self, page: str = "") -> Run:
        """Connect and run `page` (its URL path, "" for the default page) as a fresh tab does."""
        await self._connect()
        return await self._rerun(page_name=page)

    async def reconnect(self) -> Run:
        """Connect again, resuming this session (the browser's reconnect), and rerun the page."""
        await self._close_websocket()
        await self._connect(resume=True)
        return await self._rerun()

    async def _connect(self, resume: bool = False) -> None:
        await asyncio.to_thread(self._get, "/_stcore/health")
        await asyncio.to_thread(self._get, "/_stcore/host-config")
        parts = urlsplit(self.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        protocols = ["streamlit", self.cookies.get("_streamlit_xsrf", NO_XSRF_TOKEN)]
        if resume and self.session_id:
            protocols.append(self.session_id)
        self._websocket = await connect(
            f"{scheme}://{parts.netloc}{parts.path}/_stcore/stream", subprotocols=protocols,
            origin=f"{parts.scheme}://{parts.netloc}", additional_headers=self._cookie_header(),
            max_size=None, ping_interval=None, open_timeout=self.timeout)
        self._reader = asyncio.create_task(self._read())

    def _get(self, path: str) -> bytes:
        request = urllib.request.Request(self.url + path, headers=self._cookie_header())
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            for header in response.headers.get_all("Set-Cookie") or ():
                for name, morsel in http.cookies.SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.read()

    def _cookie_header(self) -> dict[str, str]:
        if not self.cookies:
            return {}
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}

    async def close(self) -> None:
        """Close the tab: the server keeps the session for server.disconnectedSessionTTL."""
        if self._poller:
            self._poller.cancel()
        await self._close_websocket()

    async def _close_websocket(self) -> None:
        """Bounded (CLOSE_SECONDS each): a benchmark once hung for minutes after its last wave,
        a closing student waiting on its connection."""
        if self._websocket is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._websocket.close(), CLOSE_SECONDS)
            self._websocket = None
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.wait({self._reader}, timeout=CLOSE_SECONDS)
            self._reader = None

    # --- what a user does ------------------------------------------------------------------------

    def widget(self, label: str, kind: str | None = None) -> Widget:
        """The last run's widget whose label is `label` or starts with it ("Index within")."""
        for widget in self.widgets.values():
            if widget.label.startswith(label) and kind in (None, widget.kind):
                return widget
        raise LookupError(f"no {kind or 'widget'} labelled {label!r} on the page; it has "
                          f"{sorted(w.label for w in self.widgets.values())}")

    def keyed(self, key: str) -> Widget:
        """The last run's widget that the page created with key=`key`."""
        for widget in self.widgets.values():
            if widget.key == key:
                return widget
        raise LookupError(f"no widget with key {key!r} on the page; it has "
                          f"{sorted(w.key for w in self.widgets.values())}")

    def value(self, widget: Widget):
        """The value this tab holds for widget (None when it holds none)."""
        state = self.states.get(widget.id)
        return None if state is None else held_value(state)

    async def change(self, widget: Widget, value) -> Run:
        """Set widget to value and rerun (its fragment only, if it lives in one)."""
        self.states[widget.id] = widget.state(value)
        return await self._rerun(fragment_id=widget.fragment_id)

    async def click(self, widget: Widget) -> Run:
        """Press a button: one rerun with its trigger on."""
        trigger = WidgetState(id=widget.id, trigger_value=True)
        return await self._rerun(fragment_id=widget.fragment_id, extra=[trigger])

    async def upload(self, widget: Widget, name: str, data: bytes, mime: str) -> Run:
        """Drop one file on a file uploader: ask the server where to put it (file_urls_request),
        PUT it there over HTTP with the cookies and the XSRF header, rerun holding its info."""
        request_id = f"{self.session_id}-{len(self._file_urls)}"
        answer = self._file_urls[request_id] = asyncio.get_running_loop().create_future()
        message = BackMsg()
        message.file_urls_request.request_id = request_id
        message.file_urls_request.file_names.append(name)
        message.file_urls_request.session_id = self.session_id
        await self._websocket.send(message.SerializeToString())
        urls = await asyncio.wait_for(answer, self.timeout)
        await asyncio.to_thread(self._put, urls.upload_url, name, data, mime)
        state = WidgetState(id=widget.id)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.name, info.size, info.file_id = name, len(data), urls.file_id
        info.file_urls.CopyFrom(urls)
        self.states[widget.id] = state
        return await self._rerun(fragment_id=widget.fragment_id)

    def _put(self, path: str, name: str, data: bytes, mime: str) -> None:
        """The browser's multipart PUT of one file; urllib.error.HTTPError when refused."""
        boundary = f"cnnviz{random.getrandbits(64):016x}"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n").encode() + data + (
                f"\r\n--{boundary}--\r\n").encode()
        headers = {**self._cookie_header(),
                   "Content-Type": f"multipart/form-data; boundary={boundary}",
                   "X-Xsrftoken": self.cookies.get("_streamlit_xsrf", "")}
        request = urllib.request.Request(self.url + path, data=body, headers=headers, method="PUT")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read()

    async def switch_page(self, url_pathname: str) -> Run:
        """Follow the navigation menu to another page of the same session."""
        if url_pathname not in self.pages:
            raise LookupError(f"no page {url_pathname!r} in the menu: {sorted(self.pages)}")
        target = self.pages[url_pathname]
        ids = self._page_widgets.get(target, set())
        self.query_string = ""  # the browser drops the query string on a page change
        return await self._rerun(page_hash=target, only=ids)

    # --- the rerun request and its answer --------------------------------------------------------

    async def _rerun(self, *, page_name: str = "", page_hash: str | None = None,
                     fragment_id: str = "", extra=(), only: set[str] | None = None,
                     auto: bool = False) -> Run:
        async with self._lock:
            if self._websocket is None:
                raise SessionLost("the session is closed")
            message = BackMsg()
            client = message.rerun_script
            client.query_string = self.query_string
            states = self.states.values() if only is None else [
                s for i, s in self.states.items() if i in only]
            client.widget_states.widgets.extend([*states, *extra])
            client.page_script_hash = self.page_hash if page_hash is None else page_hash
            client.page_name = "" if client.page_script_hash else page_name
            client.fragment_id = fragment_id
            client.is_auto_rerun = auto
            client.cached_message_hashes.extend(self._cache)
            context = client.context_info
            context.timezone, context.timezone_offset, context.locale = "UTC", 0, "en-US"
            context.url = f"{self.url}/{page_name}"
            context.is_embedded, context.color_scheme = False, "light"
            self._run, self._finished = Run(), asyncio.get_running_loop().create_future()
            start = self._started = time.perf_counter()
            try:
                await self._websocket.send(message.SerializeToString())
                status = await asyncio.wait_for(asyncio.shield(self._finished), self.timeout)
            except TimeoutError:
                raise RunTimeout(f"no script_finished within {self.timeout:.0f} s") from None
            except ConnectionClosed as error:
                raise SessionLost(f"connection closed: {error}") from None
            finally:
                self._finished.cancel()  # a run given up on (timeout, task cancelled) is over
            run, self._run = self._run, None
            run.seconds, run.status = time.perf_counter() - start, status
            return run

    async def _read(self) -> None:
        try:
            async for frame in self._websocket:
                message = ForwardMsg()
                message.ParseFromString(frame)
                self._handle(message)
                if (run := self._run or self._pushed) is not None:
                    run.messages += 1
                    run.kinds[message.WhichOneof("type")] += 1
                    run.bytes += len(frame)
        except ConnectionClosed:
            pass
        finally:
            if self._finished is not None and not self._finished.done():
                self._finished.set_exception(ConnectionClosed(None, None))

    def _handle(self, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self._new_run(message)
        elif kind == "navigation":  # st.navigation: the page that runs, and the menu
            self.page_hash = message.navigation.page_script_hash or self.page_hash
            self.pages = {page.url_pathname: page.page_script_hash
                          for page in message.navigation.app_pages}
        elif kind == "page_info_changed":
            self.query_string = message.page_info_changed.query_string
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            if message.metadata.cacheable and message.hash:
                self._cache[message.hash] = _Cached(
                    message.delta.new_element, message.delta.fragment_id, self._runs_finished)
            self._element(message.delta.new_element, message.delta.fragment_id)
        elif kind == "delta" and message.delta.WhichOneof("type") == "add_block":
            if message.delta.add_block.id:  # a keyed container: it counts as a drawn chart, as
                # the Convolution page's step-through, an HTML table in container "step", is one
                self._drawn(message.delta.add_block.id.split("-", 2)[-1])
        elif kind == "ref_hash" and message.ref_hash in self._cache:
            cached = self._cache[message.ref_hash]
            cached.last_run = self._runs_finished
            self._element(cached.element, cached.fragment_id)
        elif kind == "ref_hash":
            self._note_exception(f"cached message {message.ref_hash} missing (cache out of step)")
        elif kind == "session_event" and message.session_event.HasField(
                "script_compilation_exception"):
            error = message.session_event.script_compilation_exception
            self._note_exception(f"{error.type}: {error.message}")
        elif kind == "page_not_found":
            self._note_exception(f"page not found: {message.page_not_found.page_name}")
        elif kind == "auto_rerun" and self.follow_auto_reruns:
            self.auto_reruns[message.auto_rerun.fragment_id] = message.auto_rerun.interval
            if self._poller is None or self._poller.done():
                self._poller = asyncio.create_task(self._poll())
        elif kind == "file_urls_response":
            answer = self._file_urls.get(message.file_urls_response.response_id)
            if answer is not None and not answer.done():
                response = message.file_urls_response
                if response.error_msg or not response.file_urls:
                    answer.set_exception(SessionLost(f"no upload URL: {response.error_msg}"))
                else:
                    answer.set_result(response.file_urls[0])
        elif kind == "stop_auto_rerun":
            for fragment_id in message.stop_auto_rerun.fragment_ids:
                self.auto_reruns.pop(fragment_id, None)
        elif kind == "script_finished":
            self._script_finished(message)

    def _new_run(self, message: ForwardMsg) -> None:
        new = message.new_session
        if new.initialize.session_id:
            self.session_id = new.initialize.session_id
        self.page_hash = new.page_script_hash
        if self._run is None:  # nothing asked: the server pushed this run
            self._pushed, self._pushed_at = Run(), time.perf_counter()
        if not message.metadata.run.fragment_ids:  # a full run: the page's widgets start over
            self.widgets, self.chart_keys = {}, set()
            self.auto_reruns.clear()

    def _element(self, element, fragment_id: str) -> None:
        kind = element.WhichOneof("type")
        if kind == "exception":
            self._note_exception(f"{element.exception.type}: {element.exception.message}")
        elif kind == "plotly_chart":
            self._drawn(element.plotly_chart.id.split("-", 2)[-1])
        elif kind == "alert" and element.alert.format == Alert.ERROR:
            if (run := self._run or self._pushed) is not None:
                run.error_boxes.append(element.alert.body)
        else:
            found = read_widget(element, fragment_id)
            if found is None:
                return
            widget, state, set_by_server = found
            self.widgets[widget.id] = widget
            if state is not None and (set_by_server or widget.id not in self.states):
                self.states[widget.id] = state

    def _drawn(self, key: str) -> None:
        """A chart (or a keyed container standing for one) with widget key `key` arrived."""
        self.chart_keys.add(key)
        if self._run is not None:
            self._run.chart_seconds.setdefault(key, time.perf_counter() - self._started)

    def _note_exception(self, text: str) -> None:
        if (run := self._run or self._pushed) is not None:
            run.exceptions.append(text)

    def _script_finished(self, message: ForwardMsg) -> None:
        status = FINISHED[message.script_finished]
        if status in ("finished", "fragment"):
            self._age_cache(list(message.metadata.run.fragment_ids))
        if status == "finished":  # widgets that left the page leave the held values
            self.states = {i: s for i, s in self.states.items() if i in self.widgets}
            self._page_widgets[self.page_hash] = set(self.widgets)
        if status != "replaced" and self._finished is not None and not self._finished.done():
            self._finished.set_result(status)
        elif self._pushed is not None and self._run is None:
            pushed, self._pushed = self._pushed, None
            pushed.seconds, pushed.status = time.perf_counter() - self._pushed_at, status
            self.pushed_runs.append(pushed)

    def _age_cache(self, fragment_ids: list[str]) -> None:
        self._runs_finished += 1
        for hash_, entry in list(self._cache.items()):
            if fragment_ids and entry.fragment_id not in fragment_ids:
                continue
            if self._runs_finished - entry.last_run > MAX_CACHED_MESSAGE_AGE:
                del self._cache[hash_]

    async def _poll(self) -> None:
        """Rerun every fragment with run_every on its own timer, as the browser's setInterval
        does (a page with the class's banner has two: following only the first never polled the
        Training page's live view)."""
        due: dict[str, float] = {}
        while self.auto_reruns:
            now = time.monotonic()
            for fragment_id, interval in list(self.auto_reruns.items()):
                due.setdefault(fragment_id, now + interval)
            fragment_id = min(self.auto_reruns, key=lambda f: due[f])
            await asyncio.sleep(max(0.0, due[fragment_id] - now))
            interval = self.auto_reruns.get(fragment_id)
            if interval is None:
                due.pop(fragment_id, None)
                continue
            due[fragment_id] = max(due[fragment_id] + interval, time.monotonic())
            try:
                run = await self._rerun(fragment_id=fragment_id, auto=True)
            except SessionLost:
                return
            self.fragment_runs.append(run.seconds)
            self.auto_runs.append(run)
