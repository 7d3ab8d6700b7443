"""How a browser tab's bytes reach a Streamlit server, for the protocol client
(streamlit_protocol.py, which holds the session: its runs, widgets and pages).

What the browser does (Streamlit 1.67: the server's web/server/starlette/starlette_websocket.py;
the frontend's connection/src/WebsocketConnection.tsx and ForwardMessageCache.ts):
- GET /_stcore/health and /_stcore/host-config first. The health answer sets the `_streamlit_xsrf`
  cookie (and a sticky proxy sets its own); every later request carries the cookies.
- Open ws://HOST/_stcore/stream with the subprotocols ["streamlit", <xsrf token>, <session id to
  resume, on reconnect>] and an Origin header; binary frames are protobufs.
- A rerun is one BackMsg.rerun_script: a ClientState with query_string, widget_states,
  page_script_hash (page_name, the URL's path, on the first run, before the pages are known),
  fragment_id (a fragment's own rerun), is_auto_rerun, cached_message_hashes and context_info.
- An upload: BackMsg.file_urls_request names the file; the server answers file_urls_response
  (upload_url, file_id); the file goes there in a multipart HTTP PUT with the X-Xsrftoken header
  (the session must live in the process that gets it: a proxy must be sticky).
- The message cache: deltas marked metadata.cacheable are kept by hash; their hashes go back with
  every rerun, and the server then sends ref_hash instead of a delta it has sent before. An entry
  not seen for global.maxCachedMessageAge (2) runs expires.
"""

import http.cookies
import random
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection, connect

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


class Http:
    """The tab's HTTP side: its cookies, the GETs before the websocket, an upload's PUT."""

    def __init__(self, url: str, timeout: float):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def get(self, path: str) -> bytes:
        """GET url + path with the cookies, keeping those the answer sets."""
        request = urllib.request.Request(self.url + path, headers=self.cookie_header())
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            for header in response.headers.get_all("Set-Cookie") or ():
                for name, morsel in http.cookies.SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.read()

    def cookie_header(self) -> dict[str, str]:
        if not self.cookies:
            return {}
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}

    def put_file(self, path: str, name: str, data: bytes, mime: str) -> None:
        """The browser's multipart PUT of one file; urllib.error.HTTPError when refused."""
        boundary = f"cnnviz{random.getrandbits(64):016x}"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n").encode() + data + (
                f"\r\n--{boundary}--\r\n").encode()
        headers = {**self.cookie_header(),
                   "Content-Type": f"multipart/form-data; boundary={boundary}",
                   "X-Xsrftoken": self.cookies.get("_streamlit_xsrf", "")}
        request = urllib.request.Request(self.url + path, data=body, headers=headers, method="PUT")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read()

    async def websocket(self, resume_id: str = "") -> ClientConnection:
        """Open the stream as the browser does (after get() has fetched the XSRF cookie)."""
        parts = urlsplit(self.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        protocols = ["streamlit", self.cookies.get("_streamlit_xsrf", NO_XSRF_TOKEN)]
        if resume_id:
            protocols.append(resume_id)
        return await connect(
            f"{scheme}://{parts.netloc}{parts.path}/_stcore/stream", subprotocols=protocols,
            origin=f"{parts.scheme}://{parts.netloc}", additional_headers=self.cookie_header(),
            max_size=None, ping_interval=None, open_timeout=self.timeout)


def rerun_request(*, url: str, query_string: str, states: Iterable[WidgetState],
                  page_hash: str, page_name: str, fragment_id: str, auto: bool,
                  cached_hashes: Iterable[str]) -> BackMsg:
    """The BackMsg a browser sends to rerun the script (or one fragment of it)."""
    message = BackMsg()
    client = message.rerun_script
    client.query_string = query_string
    client.widget_states.widgets.extend(states)
    client.page_script_hash = page_hash
    client.page_name = "" if page_hash else page_name
    client.fragment_id = fragment_id
    client.is_auto_rerun = auto
    client.cached_message_hashes.extend(cached_hashes)
    context = client.context_info
    context.timezone, context.timezone_offset, context.locale = "UTC", 0, "en-US"
    context.url = f"{url}/{page_name}"
    context.is_embedded, context.color_scheme = False, "light"
    return message


def file_urls_request(request_id: str, name: str, session_id: str) -> BackMsg:
    """The BackMsg that asks where to PUT one file."""
    message = BackMsg()
    message.file_urls_request.request_id = request_id
    message.file_urls_request.file_names.append(name)
    message.file_urls_request.session_id = session_id
    return message


@dataclass
class _Cached:
    element: object  # the cached delta's Element
    fragment_id: str
    last_run: int


class MessageCache:
    """The browser's ForwardMessageCache: cacheable deltas by hash, aged by finished runs."""

    def __init__(self):
        self._entries: dict[str, _Cached] = {}
        self._runs_finished = 0

    def hashes(self) -> list[str]:
        """What to send with a rerun, so that the server may answer with ref_hash."""
        return list(self._entries)

    def keep(self, message: ForwardMsg) -> None:
        """Keep a new_element delta if the server marked it cacheable."""
        if message.metadata.cacheable and message.hash:
            self._entries[message.hash] = _Cached(
                message.delta.new_element, message.delta.fragment_id, self._runs_finished)

    def get(self, ref_hash: str) -> tuple[object, str] | None:
        """The element and fragment id behind ref_hash (None when out of step with the server)."""
        cached = self._entries.get(ref_hash)
        if cached is None:
            return None
        cached.last_run = self._runs_finished
        return cached.element, cached.fragment_id

    def age(self, fragment_ids: list[str]) -> None:
        """One run finished (a full one, or of fragment_ids): drop what it has not seen lately."""
        self._runs_finished += 1
        for hash_, entry in list(self._entries.items()):
            if fragment_ids and entry.fragment_id not in fragment_ids:
                continue
            if self._runs_finished - entry.last_run > MAX_CACHED_MESSAGE_AGE:
                del self._entries[hash_]
