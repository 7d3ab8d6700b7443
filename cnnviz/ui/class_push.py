"""The class's news pushed to the students' banners: one watcher thread per process reads what
the banner shows (the latest share, the current question) every WATCH_SECONDS and, when it
changed, reruns the banner fragment of every session of this process that drew one.

Why: a banner that polls on its own timer (st.fragment(run_every=...), a timer in the browser)
shows a share one poll late on average and costs a rerun per student per poll, news or not; sixty
banners polling every 2 s were ~30 fragment reruns a second. Here one read per process per
WATCH_SECONDS finds the news, and a rerun per student happens only when there is some.

Streamlit has no public way for the server to rerun a session's fragment; this module is the one
place that uses its runtime (1.67): the running fragment's id (ThreadState),
Runtime.get_app_session (documented safe on any thread) and AppSession.request_rerun, handed to
the session's event loop, with the session's last ClientState and the fragment's id: the request
the browser's run_every timer sends (is_auto_rerun: a fragment a full run has just dropped is
skipped quietly), made only while the session runs nothing (AppSession._scriptrunner is None).
Without a Streamlit runtime (AppTest, bare scripts) nothing is watched: the banner's own
run_every still refreshes it.
"""

import logging
import threading
import time
from collections.abc import Callable

from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState, get_script_run_ctx

WATCH_SECONDS = 0.25  # how often each process reads what the banners show
RETRY = object()  # drawn by no banner: the news is pushed again at the next look
LOG = logging.getLogger(__name__)


class Watcher:
    """Reruns a watched session's banner fragment when `read()` returns other news than the
    banner last drew."""

    def __init__(self, every: float = WATCH_SECONDS):
        self.every = every
        self.pushes = 0  # fragment reruns requested so far (for tests and curious readers)
        self._lock = threading.Lock()
        self._banners: dict[str, tuple[str, object]] = {}  # session id -> (its banner fragment's
        # id, the news it drew)
        self._read: Callable[[], object] | None = None
        self._thread: threading.Thread | None = None

    def watch(self, read: Callable[[], object], drawn: object) -> bool:
        """Called from inside the banner fragment, which drew `drawn` (what `read()` returned
        for it): the banner is rerun as soon as `read()` (cheap, cached) returns something
        else. False without a Streamlit runtime."""
        ctx = get_script_run_ctx()
        if ctx is None or not Runtime.exists():
            return False
        fragment_id = ThreadState.get().fragment_id  # the fragment running now
        if not fragment_id:
            return False
        with self._lock:
            self._banners[ctx.session_id] = (fragment_id, drawn)
            self._read = read
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="cnnviz-class-watcher",
                                                daemon=True)
                self._thread.start()
        return True

    def _run(self) -> None:
        while True:
            time.sleep(self.every)
            try:
                self.tick()
            except Exception:  # the thread outlives anything: the banners' timers go on anyway
                LOG.exception("the class watcher failed; it goes on")

    def tick(self) -> int:
        """One look: reads the news while a banner is watched and reruns the banners that drew
        other news (once: each is counted as having drawn it). Returns how many were rerun."""
        live = self._live()
        if not live:
            return 0  # nobody to tell: read nothing until a banner is drawn again
        news = self._news()
        stale = {i: found for i, found in live.items() if found[2] != news}
        with self._lock:
            for session_id, (_, fragment_id, _) in stale.items():
                if session_id in self._banners:
                    self._banners[session_id] = (fragment_id, news)
        for session_id, (session, fragment_id, _) in stale.items():
            try:
                session._event_loop.call_soon_threadsafe(self._rerun, session_id, session,
                                                         fragment_id)
            except RuntimeError:  # its event loop closed: the session is going
                continue
        self.pushes += len(stale)
        return len(stale)

    def _rerun(self, session_id: str, session, fragment_id: str) -> None:
        """On the session's event loop: rerun its banner fragment as the browser's run_every
        timer asks (the page and query string of its last run, no widget change), but only
        while it runs nothing: a run in progress or asked for may be changing the page, and
        Streamlit folds requests together, the last one's page winning. Then the news is
        pushed again at the next look (a full run redraws the banner anyway)."""
        if session._scriptrunner is not None:
            with self._lock:
                if session_id in self._banners:
                    self._banners[session_id] = (self._banners[session_id][0], RETRY)
            return
        state = ClientState()
        state.CopyFrom(session._client_state)
        state.fragment_id, state.is_auto_rerun = fragment_id, True
        try:
            session.request_rerun(state)
        except Exception as error:  # a session closing meanwhile: it has no banner to redraw
            LOG.info("the class watcher could not rerun a banner: %s", error)

    def _news(self) -> object:
        try:
            return self._read() if self._read else None
        except Exception as error:  # the thread must outlive a store that fails or a bad read
            LOG.warning("the class watcher could not read the class: %s", error)
            return ("failed", type(error).__name__)

    def _live(self) -> dict[str, tuple[object, str, object]]:
        """The watched sessions still connected: (session, banner fragment id, news drawn); the
        others are forgotten."""
        live = {}
        with self._lock:
            if not Runtime.exists():  # the runtime stopped (or an AppTest ended)
                self._banners.clear()
                return live
            runtime = Runtime.instance()
            for session_id, (fragment_id, drawn) in list(self._banners.items()):
                session = runtime.get_app_session(session_id)
                if session is None:
                    del self._banners[session_id]
                else:
                    live[session_id] = (session, fragment_id, drawn)
        return live

