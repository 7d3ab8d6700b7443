"""A Streamlit session held over the websocket the way the browser holds it, without a browser.

How the bytes travel (HTTP, the websocket, the rerun request, the message cache) is
streamlit_wire.py; this module is the tab: its runs, its widgets, its pages. What the browser does
(Streamlit 1.67: the server's runtime/app_session.py; the frontend's app/src/App.tsx), and this
client with it:
- The client speaks first: one rerun request (streamlit_wire.rerun_request) for the page.
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
  widgets absent from a full run are dropped. A button sends trigger_value once. An uploader's
  state (file_uploader_state_value) carries the uploaded file's name, size and file_id.
"""

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from benchmarks.streamlit_widgets import Widget, held_value, read_widget
from benchmarks.streamlit_wire import (
    FINISHED,
    Http,
    MessageCache,
    RunTimeout,
    SessionLost,
    file_urls_request,
    rerun_request,
)

__all__ = ["Run", "RunTimeout", "SessionLost", "StreamlitSession"]

CLOSE_SECONDS = 5.0  # the most a closing tab waits for its connection and its reader


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


class StreamlitSession:
    """One browser tab's Streamlit session: open it, change widgets, switch pages, close it.

    Runs one at a time: every call sends one rerun and returns when its script_finished arrives.
    """

    def __init__(self, url: str, *, follow_auto_reruns: bool = False, timeout: float = 120):
        self.http = Http(url, timeout)
        self.url = self.http.url
        self.follow_auto_reruns = follow_auto_reruns  # a fragment's run_every, as the browser
        self.timeout = timeout
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
        self._cache = MessageCache()
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
        await asyncio.to_thread(self.http.get, "/_stcore/health")
        await asyncio.to_thread(self.http.get, "/_stcore/host-config")
        self._websocket = await self.http.websocket(self.session_id if resume else "")
        self._reader = asyncio.create_task(self._read())

    @property
    def cookies(self) -> dict[str, str]:
        """The tab's cookies (a test sets a proxy's sticky cookie here to pick a replica)."""
        return self.http.cookies

    @cookies.setter
    def cookies(self, cookies: dict[str, str]) -> None:
        self.http.cookies = cookies

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
        message = file_urls_request(request_id, name, self.session_id)
        await self._websocket.send(message.SerializeToString())
        urls = await asyncio.wait_for(answer, self.timeout)
        await asyncio.to_thread(self.http.put_file, urls.upload_url, name, data, mime)
        state = WidgetState(id=widget.id)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.name, info.size, info.file_id = name, len(data), urls.file_id
        info.file_urls.CopyFrom(urls)
        self.states[widget.id] = state
        return await self._rerun(fragment_id=widget.fragment_id)

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
            states = self.states.values() if only is None else [
                s for i, s in self.states.items() if i in only]
            message = rerun_request(
                url=self.url, query_string=self.query_string, states=[*states, *extra],
                page_hash=self.page_hash if page_hash is None else page_hash,
                page_name=page_name, fragment_id=fragment_id, auto=auto,
                cached_hashes=self._cache.hashes())
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
            self._cache.keep(message)
            self._element(message.delta.new_element, message.delta.fragment_id)
        elif kind == "delta" and message.delta.WhichOneof("type") == "add_block":
            if message.delta.add_block.id:  # a keyed container: it counts as a drawn chart, as
                # the Convolution page's step-through, an HTML table in container "step", is one
                self._drawn(message.delta.add_block.id.split("-", 2)[-1])
        elif kind == "ref_hash" and (cached := self._cache.get(message.ref_hash)) is not None:
            self._element(*cached)
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
            self._cache.age(list(message.metadata.run.fragment_ids))
        if status == "finished":  # widgets that left the page leave the held values
            self.states = {i: s for i, s in self.states.items() if i in self.widgets}
            self._page_widgets[self.page_hash] = set(self.widgets)
        if status != "replaced" and self._finished is not None and not self._finished.done():
            self._finished.set_result(status)
        elif self._pushed is not None and self._run is None:
            pushed, self._pushed = self._pushed, None
            pushed.seconds, pushed.status = time.perf_counter() - self._pushed_at, status
            self.pushed_runs.append(pushed)

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
