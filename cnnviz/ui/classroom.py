"""The class on every page: who is the teacher, the student's browser key and name, the banner
(what the teacher shows, the quick question) and the teacher's "Show this to the class".

A student's browser keeps its key (students.new_browser_key) in a cookie, written once by a tiny
Components v2 script and read back by the server when a session starts (st.context.cookies): a
reload finds the same student, their name and answers, before the first line of the page runs,
which localStorage (read by a component after the page is drawn) could not give.
Names and labels are students' and teachers' text: shown with st.text or escaped (as_markdown).
"""

import os
import re
import threading
import time
from collections.abc import Callable

import streamlit as st

from cnnviz.classroom import questions, shares, students, tokens
from cnnviz.classroom.names import NameRefused, as_markdown
from cnnviz.classroom.overview import replica_name
from cnnviz.classroom.schema import NAME_MAX
from cnnviz.classroom.store import ClassStore, StoreUnavailable, database_url, shared_store
from cnnviz.ui import page_runs
from cnnviz.ui.class_push import WATCH_SECONDS, Watcher

CLASS_PATH = "class"  # the Class page's url_path: /class?token=TOKEN
SHOWN = {"convolution": "Convolution", "pooling": "Pooling", "backprop": "Backpropagation",
         "architectures": "Architectures"}  # url_path -> title of the pages a teacher can show
REFRESH_SECONDS = 2  # the Class page is never further behind than this
CACHE_SECONDS = WATCH_SECONDS  # one read of the latest share and question per process in this time
BANNER_SECONDS = 10  # the banner's own refresh: news is pushed (class_push), this keeps presence
DOWN_SECONDS = 10.0  # an unreachable store is tried again after this long
SEEN_SECONDS = 10  # a student's presence is written at most this often
LESSON_SECONDS = 3 * 3600  # shares and questions older than this are a past lesson's
COOKIE = "cnnviz_student"
COOKIE_DAYS = 365
KEY_PATTERN = re.compile(r"[A-Za-z0-9_\-]{16,64}")  # what students.new_browser_key makes
TEACHER = "_class_teacher"  # session-state keys
BROWSER_KEY = "_class_browser_key"
STUDENT = "_class_student"
FOLLOW, FOLLOWED, SEEN_AT = "class_follow", "_class_followed", "_class_seen_at"
COOKIE_JS = """
export default function ({ data }) {
  const age = data.days * 86400;
  document.cookie = `${data.name}=${encodeURIComponent(data.value)}; path=/; max-age=${age}; ` +
    "SameSite=Lax";
}
"""


def class_store() -> ClassStore:
    """This process's store (one per database URL). StoreUnavailable for a URL that cannot work."""
    return shared_store(database_url())


class Recent:
    """Reads shared by every session of the process for CACHE_SECONDS: the watcher's and sixty
    banners' reads cost one query per CACHE_SECONDS. A store found unreachable is not asked
    again for DOWN_SECONDS: its error is raised at once, so no session's page waits on its
    timeout."""

    def __init__(self):
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, str], tuple[float, object]] = {}
        self._down: dict[str, tuple[float, StoreUnavailable]] = {}

    def down(self, store: ClassStore) -> StoreUnavailable | None:
        """The error of `store`'s last failed read, while DOWN_SECONDS have not passed."""
        until, error = self._down.get(store.where, (0.0, None))
        return error if time.monotonic() < until else None

    def get(self, store: ClassStore, what: str, read: Callable[[], object]):
        with self._lock:  # the others wait for the one read rather than each make their own
            if error := self.down(store):
                raise error
            at, value = self._kept.get((store.where, what), (-1e9, None))
            if time.monotonic() - at >= CACHE_SECONDS:
                try:
                    value = read()
                except StoreUnavailable as error:
                    self._down[store.where] = (time.monotonic() + DOWN_SECONDS, error)
                    raise
                self._kept[(store.where, what)] = (time.monotonic(), value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self._down.clear()


RECENT = Recent()
WATCHER = Watcher()  # reruns this process's banners when the share or the question changed


def latest_share(store: ClassStore) -> shares.Share | None:
    """The teacher's latest share of this lesson (LESSON_SECONDS), read once per CACHE_SECONDS."""
    share = RECENT.get(store, "share", lambda: shares.latest(store))
    return share if share and time.time() - share.shared_at < LESSON_SECONDS else None


def current_question(store: ClassStore) -> questions.Question | None:
    """The question asked last in this lesson, read once per CACHE_SECONDS."""
    question = RECENT.get(store, "question", lambda: questions.current(store))
    return question if question and time.time() - question.asked_at < LESSON_SECONDS else None


def is_teacher() -> bool:
    """Whether this session opened the teacher's link."""
    return bool(st.session_state.get(TEACHER))


def admit_teacher() -> bool:
    """The Class page's door: a ?token= that matches $CNNVIZ_TEACHER_TOKEN (constant time) makes
    this session the teacher's. Any token leaves the address bar at once, right or wrong."""
    offered = st.query_params.get("token")
    if offered is not None:
        del st.query_params["token"]
        if tokens.token_matches(offered, os.environ.get(tokens.TOKEN_ENV, "")):
            st.session_state[TEACHER] = True
    return is_teacher()


def kept_key() -> str | None:
    """The key the browser sent in its cookie when this session started (None: no cookie)."""
    return st.context.cookies.get(COOKIE)


def browser_key() -> str:
    """This browser's student key: the cookie's, else a new one that keep_key() writes."""
    state = st.session_state
    if BROWSER_KEY not in state:
        kept = kept_key()
        valid = isinstance(kept, str) and KEY_PATTERN.fullmatch(kept)
        state[BROWSER_KEY] = kept if valid else students.new_browser_key()
    return state[BROWSER_KEY]


@st.cache_resource(show_spinner=False)
def _cookie_writer():
    import streamlit.components.v2 as components

    return components.component("cnnviz_student_cookie", js=COOKIE_JS)


def keep_key() -> None:
    """Writes the browser key into the browser's cookie while the one it sent differs."""
    key = browser_key()
    if kept_key() == key:
        return
    _cookie_writer()(data={"name": COOKIE, "value": key, "days": COOKIE_DAYS},
                     key="class_cookie")


def student(store: ClassStore) -> students.Student | None:
    """This browser's student (read once per session), or None before they have a name."""
    state = st.session_state
    if STUDENT not in state:
        state[STUDENT] = students.find(store, browser_key())
    return state[STUDENT]


def join(store: ClassStore, typed: str) -> students.Student | None:
    """Gives this browser the name typed (a generated one when empty); shows why not."""
    try:
        st.session_state[STUDENT] = students.join(store, browser_key(), typed.strip() or None)
    except NameRefused as refused:
        st.error(str(refused))  # the store's messages never repeat the name
        return None
    return st.session_state[STUDENT]


def name_box(store: ClassStore) -> None:
    """The sidebar's "Your name": shown literally, changed here, or a generated one taken."""
    with st.sidebar.expander("Your name in the class"):
        me = student(store)
        st.text(f"You are {me.name}." if me else "You have no name in the class yet.")
        with st.form("class_name_form", border=False):
            typed = st.text_input("Your name", max_chars=NAME_MAX, key="class_name",
                                  placeholder="empty: a generated name")
            if st.form_submit_button("Save name") and join(store, typed):
                st.rerun()


def seen(store: ClassStore) -> None:
    """Counts this student as connected on this replica (at most every SEEN_SECONDS)."""
    state = st.session_state
    if state.get(STUDENT) and time.time() - state.get(SEEN_AT, 0) >= SEEN_SECONDS:
        students.seen(store, browser_key(), replica_name())
        state[SEEN_AT] = time.time()


def view_label(title: str, settings: dict[str, str]) -> str:
    """What a view shows, for the banner: "Convolution: Sobel left, stride 2, same padding"."""
    get = settings.get
    filters = get("filters", "1")
    filters = int(filters) if filters.isdigit() else 1  # a link edited by hand names anything
    parts = [get(f"preset_{f}") for f in range(min(filters, 8)) if get(f"preset_{f}")][:3]
    if get("ksize"):
        parts.append(f"{get('ksize')}x{get('ksize')} kernel")
    for prefix, what in (("", "stride"), ("pool_", "stride")):
        sh, sw = get(f"{prefix}stride_h"), get(f"{prefix}stride_w")
        if sh:
            parts.append(f"{what} {sh}" if sh == sw else f"{what} {sh}x{sw}")
    if get("padding") == "explicit":
        parts.append(f"padding {get('pad_h', '?')}x{get('pad_w', '?')}")
    elif get("padding"):
        parts.append(f"{get('padding')} padding")
    if get("pool_mode"):
        parts.insert(0, f"{get('pool_mode')} pool {get('pool_kh', '?')}x{get('pool_kw', '?')}")
    if get("dz"):
        parts.append(f"dZ {get('dz')}")
    return f"{title}: {', '.join(parts)}" if parts else title


def share_button(url_path: str) -> None:
    """The teacher's "Show this to the class" on a page students can be shown (SHOWN)."""
    if not st.sidebar.button("Show this to the class", icon=":material/cast:",
                             key="class_share", type="primary"):
        return
    settings = {name: value for name, value in st.query_params.items() if name != "token"}
    label = view_label(SHOWN[url_path], settings)
    try:
        shares.share(class_store(), url_path, settings, label)
    except (StoreUnavailable, ValueError) as error:  # ValueError: an address too long to share
        st.sidebar.error(str(error))
        return
    st.toast(f"Shown to the class: {as_markdown(label)}")


def go(share: shares.Share, pages: dict) -> None:
    """Moves this student's view to the share: its page, with its settings (the settings it
    names are forgotten here first, so the page reads them from the address)."""
    if share.page not in pages:
        st.warning("The view shared is on a page this app does not have.")
        return
    for name in share.settings:
        st.session_state.pop(name, None)
        st.session_state.pop(f"_w_{name}", None)
    st.switch_page(pages[share.page], query_params=share.settings)


def follow_ui(share: shares.Share, pages: dict) -> None:
    """The banner's line: what is shown, Open, and "Follow the teacher" (moves with each share)."""
    state = st.session_state
    text, open_column, follow_column = st.columns([6, 1, 2], vertical_alignment="center")
    text.info(f"Your teacher shows: {as_markdown(share.label)}", icon=":material/cast:")
    if f"_w_{FOLLOW}" not in state:
        state[f"_w_{FOLLOW}"] = state.get(FOLLOW, False)
    state[FOLLOW] = follow_column.toggle("Follow the teacher", key=f"_w_{FOLLOW}")
    if open_column.button("Open", key="class_open"):
        state[FOLLOWED] = share.id
        go(share, pages)
    elif state[FOLLOW] and state.get(FOLLOWED) != share.id:
        state[FOLLOWED] = share.id
        go(share, pages)


def my_answer(store: ClassStore, question: questions.Question) -> str | None:
    """This student's answer to `question` (read once per session and question)."""
    answers = st.session_state.setdefault("_class_answers", {})
    if question.id not in answers:
        mine = questions.my_answer(store, question.id, browser_key()) if student(store) else None
        answers[question.id] = mine.value if mine else None
    return answers[question.id]


def answer_form(store: ClassStore, question: questions.Question) -> None:
    """A number or a choice, and a name for a student who has none yet."""
    with st.form(f"class_answer_{question.id}", border=False):
        if question.kind == "choices":
            value = st.radio("Your answer", question.choices, index=None, horizontal=True,
                             key=f"class_value_{question.id}")
        else:
            value = st.text_input("Your answer (a number)", key=f"class_value_{question.id}")
        typed = "" if student(store) else st.text_input(
            "Your name", max_chars=NAME_MAX, key=f"class_new_name_{question.id}",
            placeholder="empty: a generated name")
        if not st.form_submit_button("Answer"):
            return
    if value is None or (not student(store) and not join(store, typed)):
        if value is None:
            st.error("Choose an answer first.")
        return
    try:
        kept = questions.answer(store, question.id, browser_key(), value)
    except (ValueError, LookupError) as error:
        st.error(str(error))
        return
    st.session_state["_class_answers"][question.id] = kept
    st.success(f"Your answer {as_markdown(kept)} is in.")


def question_box(store: ClassStore, question: questions.Question) -> None:
    """The quick question: answer it (again: a new answer replaces the old), or once the teacher
    revealed the answer, whether this student's was right."""
    st.markdown(f"**Quick question:** {as_markdown(question.text)}")
    mine = my_answer(store, question)
    if question.revealed:
        right = f"The answer: **{as_markdown(question.answer or '')}**."
        if mine is None:
            st.info(f"{right} You did not answer.")
        elif question.is_right(mine):
            st.success(f"{right} Yours ({as_markdown(mine)}) was right.")
        else:
            st.warning(f"{right} Yours was {as_markdown(mine)}.")
        return
    if mine is not None:
        st.caption(f"Your answer: {as_markdown(mine)} (answer again to change it)")
    answer_form(store, question)


UNAVAILABLE = ("unavailable",)  # the news of a store that cannot be reached: its message


def news_of(share: shares.Share | None, question: questions.Question | None) -> tuple:
    """What the banner shows, as the watcher compares it: the share, the question and whether
    its answer is out."""
    return (share and share.id, question and (question.id, question.revealed))


def news(store: ClassStore) -> tuple:
    """The banner's news now (read once per CACHE_SECONDS per process, by the watcher)."""
    try:
        return news_of(latest_share(store), current_question(store))
    except StoreUnavailable:
        return UNAVAILABLE


@st.fragment(run_every=BANNER_SECONDS)
def banner(pages: dict) -> None:
    """A student's banner: what the teacher shows and the quick question, redrawn as soon as
    either changes (WATCHER, within about CACHE_SECONDS) and every BANNER_SECONDS. The class
    being unreachable gives its message; the page below works on."""
    page_runs.undo_stale_run(pages)  # a run for a page the student was moved from
    store, drawn = None, UNAVAILABLE  # an unreachable store's return is news too
    try:
        store = class_store()
        share, question = latest_share(store), current_question(store)
        drawn = news_of(share, question)
        student(store)
        seen(store)
    except StoreUnavailable as error:
        st.caption(f":material/cloud_off: {error.student_message}")
        return
    finally:
        if store is not None:
            WATCHER.watch(lambda: news(store), drawn)
    if share:
        follow_ui(share, pages)
    if question:
        try:
            question_box(store, question)
        except StoreUnavailable as error:
            st.caption(f":material/cloud_off: {error.student_message}")


def frame(page, pages: list) -> None:
    """The class's part of every page, drawn by app.py before the page: the teacher's share
    button on the pages students can be shown; a student's banner and name box elsewhere."""
    if page.url_path == CLASS_PATH:
        return  # the Class page is the teacher's: it draws its own
    if is_teacher():  # the way back to the Class page: in the teacher's sidebar only
        st.sidebar.page_link(next(p for p in pages if p.url_path == CLASS_PATH),
                             label="Class page", icon=":material/school:")
        if page.url_path in SHOWN:
            share_button(page.url_path)
        return
    keep_key()
    page_runs.remember(page)
    banner({p.url_path: p for p in pages})
    try:
        store = class_store()
        if not RECENT.down(store):  # else the banner says it, and nothing waits on the store
            name_box(store)
    except StoreUnavailable:
        pass  # the banner says it
