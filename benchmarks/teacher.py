"""The teacher in `python -m benchmarks classroom --teacher`, and the students' part in the lesson.

The teacher holds two tabs, each a Streamlit session over the protocol, opened with the teacher's
link (/class?token=TOKEN) as a browser would:
- the Class page, left open: its two fragments (the class overview and the answers) rerun every
  REFRESH_SECONDS on their own timers, as the browser's do; every QUESTION_SECONDS it fills the
  "Ask the class" form and presses Ask (the page's own form, a full rerun);
- the projector's tab, moved to the Convolution page: every SHARE_SECONDS it changes the padding
  (so that each share's label differs from the last) and presses "Show this to the class" (the
  sidebar button every teacher's explorer page has); the toast names what was shown.

Each student's session (StudentTab) follows its banner's run_every as the browser does, draws
the banner's reruns the server pushes when the teacher shares or asks (as the browser does), notes
when the banner first names each share (the delta it receives; share_to_banner is that moment
minus the moment the teacher pressed the button), and answers each new question from the
banner's form, typing a name the first time, after a think time. After the class the answers the
students sent are compared with those the class store holds (the same database as the server's).
"""

import asyncio
import contextlib
import json
import os
import random
import secrets
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.WidgetStates_pb2 import WidgetState

from benchmarks.streamlit_protocol import Run, SessionLost, StreamlitSession
from benchmarks.students import percentiles_ms
from cnnviz.classroom import questions
from cnnviz.classroom.store import DATABASE_ENV, ClassStore, database_url
from cnnviz.classroom.tokens import TOKEN_ENV, new_token

SHARE_SECONDS = 30  # a share every
QUESTION_SECONDS = 120  # a question every
FIRST_QUESTION = 15  # s after the class starts: every student has arrived (--ramp 10 s)
LAST_QUESTION = 40  # s before the class ends at least: every student has time to answer
ANSWER_THINK = (2.0, 15.0)  # a student answers this long (uniform) after the question shows
BANNER_WAIT = 10.0  # a share not on a student's banner this long after it was made is missed
QUESTIONS = (  # (text, kind, choices, right answer); a number in the text tells them apart
    ("28×28 input, 5×5 kernel, stride 2, valid padding: output size?", "number", (), "12"),
    ("Max pooling 2×2, stride 2, on a 24×24 map: output size?", "choices",
     ("12", "11", "23", "24"), "12"),
)
BANNER, TOAST = "Your teacher shows: ", "Shown to the class: "  # cnnviz/ui/classroom.py's texts
ANSWERED = "Your answer "  # "... is in." (st.success once the store committed it)


class ClassTab(StreamlitSession):
    """A tab that follows its fragments' run_every and also reads text boxes, toasts and
    success boxes, and submits forms."""

    def __init__(self, url: str, timeout: float = 120):
        super().__init__(url, follow_auto_reruns=True, timeout=timeout)
        self.texts: dict[str, str] = {}  # key or label of text inputs and areas -> widget id
        self.toasts: list[str] = []
        self.successes: list[str] = []

    def _element(self, element, fragment_id: str) -> None:
        kind = element.WhichOneof("type")
        if kind in ("text_input", "text_area"):
            proto = getattr(element, kind)
            self.texts[proto.id.split("-", 2)[-1]] = self.texts[proto.label] = proto.id
        elif kind == "toast":
            self.toasts.append(element.toast.body)
        elif kind == "alert" and element.alert.format == Alert.SUCCESS:
            self.successes.append(element.alert.body)
        super()._element(element, fragment_id)

    async def submit(self, button: str, values: dict[str, str]) -> Run:
        """Fill a form of the last run (text boxes and radios by label) and press its `button`:
        the values go with the press, as the browser sends a form's values on submit."""
        press = next(w for w in self.widgets.values() if w.kind == "button" and w.label == button)
        states = [WidgetState(id=press.id, trigger_value=True)]
        for label, value in values.items():
            if label in self.texts:
                states.append(WidgetState(id=self.texts[label], string_value=value))
            else:
                states.append(self.widget(label, "radio").state(value))
        return await self._rerun(fragment_id=press.fragment_id, extra=states)


@dataclass
class SentAnswer:
    question_id: int
    name: str
    value: str
    seconds: float = 0.0  # Answer pressed -> script_finished
    acknowledged: bool = False  # the banner said "Your answer ... is in."
    error: str = ""


@dataclass
class AnswerForm:
    """A question's form in the banner, as its elements named it (ids are stable across runs)."""

    fragment_id: str = ""
    value_id: str = ""  # the answer box: a text input, or a radio of choices
    choices: tuple[str, ...] = ()  # () for a number
    name_id: str = ""  # "Your name", while the student has none
    submit_id: str = ""  # the form's "Answer" button


class StudentTab(ClassTab):
    """A student's tab in the lesson: notes its banner's shares and answers each question."""

    def __init__(self, url: str, lesson: "Lesson", number: int):
        super().__init__(url)
        self.lesson, self.name = lesson, f"s{number:03d}-{lesson.tag}"
        self.rng = random.Random(number)
        self.banners: list[tuple[str, float]] = []  # (label shown, when it first came)
        self.opened_at, self.closed_at = time.perf_counter(), float("inf")
        self.forms: dict[str, AnswerForm] = {}  # form id -> its form
        self._answering: dict[int, asyncio.Task] = {}

    def _element(self, element, fragment_id: str) -> None:
        super()._element(element, fragment_id)
        kind = element.WhichOneof("type")
        if kind == "alert" and element.alert.body.startswith(BANNER):
            label = element.alert.body[len(BANNER):]
            if not self.banners or self.banners[-1][0] != label:
                self.banners.append((label, time.perf_counter()))
        elif kind in ("radio", "text_input", "button") and getattr(element, kind).form_id:
            self._form_element(getattr(element, kind), kind, fragment_id)

    def _form_element(self, proto, kind: str, fragment_id: str) -> None:
        """Notes the parts of a question's form; a new question's is answered once."""
        form = self.forms.setdefault(proto.form_id, AnswerForm(fragment_id))
        key = proto.id.split("-", 2)[-1]
        if key.startswith("class_value_") and key[12:].isdigit():
            form.value_id, form.choices = proto.id, tuple(getattr(proto, "options", ()))
            question_id = int(key[12:])
            if question_id not in self._answering:
                self._answering[question_id] = asyncio.create_task(
                    self._answer(question_id, form))
        elif key.startswith("class_new_name_"):
            form.name_id = proto.id
        elif kind == "button" and proto.label == "Answer":
            form.submit_id = proto.id

    async def _answer(self, question_id: int, form: AnswerForm) -> None:
        """After a think time: pick an answer, type a name if asked, press Answer. The form's
        values go with the press itself, as the browser sends a form's values on submit."""
        await asyncio.sleep(self.rng.uniform(*ANSWER_THINK))
        value = self.rng.choice(form.choices or ("12", "12", "13", "24"))
        sent = SentAnswer(question_id, self.name, value)
        if not (form.value_id and form.submit_id):
            self.lesson.failures.append(f"answer to question {question_id}: no form to answer")
            return
        values = [WidgetState(id=form.value_id, string_value=value),
                  WidgetState(id=form.submit_id, trigger_value=True)]
        if form.name_id:
            values.append(WidgetState(id=form.name_id, string_value=self.name))
        self.successes.clear()
        self.lesson.answers.append(sent)
        try:
            run = await self._rerun(fragment_id=form.fragment_id, extra=values)
        except SessionLost as lost:
            sent.error = f"answer to question {question_id}: {lost!r}"
            return
        sent.seconds = run.seconds
        sent.acknowledged = any(text.startswith(ANSWERED) for text in self.successes)
        problems = run.exceptions + run.error_boxes
        if problems or not sent.acknowledged:
            sent.error = f"answer to question {question_id}: {problems or 'not acknowledged'}"

    async def close(self) -> None:
        """Leave once the answers under way are in (as a student waits for the banner's tick)."""
        pending = [task for task in self._answering.values() if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=self.timeout)
        self.closed_at = time.perf_counter()
        await super().close()


@dataclass
class Lesson:
    """The teacher's side of the benchmark and what the students did in the lesson."""

    token: str
    tag: str = field(default_factory=lambda: secrets.token_hex(2))  # names differ between runs
    shares: list[tuple[str, float]] = field(default_factory=list)  # (label, perf_counter pressed)
    asked: dict[int, tuple] = field(default_factory=dict)  # question id -> QUESTIONS' entry
    answers: list[SentAnswer] = field(default_factory=list)
    students: list[StudentTab] = field(default_factory=list)
    class_tab: ClassTab | None = None
    failures: list[str] = field(default_factory=list)
    ask_seconds: list[float] = field(default_factory=list)
    share_seconds: list[float] = field(default_factory=list)

    def student_session(self, url: str) -> StudentTab:
        """The session factory the class's students are made with."""
        tab = StudentTab(url, self, len(self.students))
        self.students.append(tab)
        return tab

    async def open_as_teacher(self, url: str, page: str = "class") -> ClassTab:
        """A tab opened with the teacher's link, then moved to `page` by the menu."""
        tab = ClassTab(url)
        tab.query_string = f"token={self.token}"
        run = await tab.open("class")
        if run.error_boxes or run.exceptions or "token" in tab.query_string:
            refused = run.error_boxes + run.exceptions
            raise RuntimeError(f"the teacher's link was refused: {refused}")
        if page != "class":
            await tab.switch_page(page)
        return tab

    async def run(self, url: str, start: float, until: float) -> None:
        """The teacher during the class: the Class page open, shares and questions on time."""
        store, projector = ClassStore(database_url()), None
        try:
            self.class_tab = await self.open_as_teacher(url)
            projector = await self.open_as_teacher(url, "convolution")
            await asyncio.gather(self._share_every(projector, start, until),
                                 self._ask_every(store, start, until))
        except (RuntimeError, LookupError, OSError) as error:  # SessionLost is an OSError
            self.failures.append(f"teacher: {error}")
        finally:
            for tab in (projector, self.class_tab):
                if tab is not None:
                    await tab.close()
            await asyncio.to_thread(store.close)

    async def _share_every(self, tab: ClassTab, start: float, until: float) -> None:
        at = start + SHARE_SECONDS / 2
        while at < until - BANNER_WAIT:
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            if time.monotonic() >= until - BANNER_WAIT:  # late (a slow server): no time to see it
                break
            scrub = tab.widget("scrub conv", "component")  # padding lives in the component
            settings = json.loads(scrub.data)["settings"]
            options = ["valid", "same", "explicit"]
            settings["padding"] = options[(options.index(settings["padding"]) + 1) % 3]
            await tab.change(scrub, settings)
            tab.toasts.clear()
            pressed = time.perf_counter()
            run = await tab.click(tab.keyed("class_share"))
            self.share_seconds.append(run.seconds)
            shown = [text[len(TOAST):] for text in tab.toasts if text.startswith(TOAST)]
            if run.exceptions or run.error_boxes or not shown:
                self.failures.append(f"share: {run.exceptions + run.error_boxes or 'no toast'}")
            elif self.shares and shown[-1] == self.shares[-1][0]:
                self.failures.append(f"share: the label did not change ({shown[-1]})")
            else:
                self.shares.append((shown[-1], pressed))
            at += SHARE_SECONDS

    async def _ask_every(self, store: ClassStore, start: float, until: float) -> None:
        at, number = start + FIRST_QUESTION, 0
        while at < until - LAST_QUESTION:
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            text, kind, choices, right = QUESTIONS[number % len(QUESTIONS)]
            number += 1
            tab = self.class_tab
            run = await tab.submit("Ask", {
                "Question": f"Q{number}. {text}", "Answered with": kind,
                "Choices (one a line; for choices only)": "\n".join(choices),
                "The right answer (may wait until you reveal it)": right})
            self.ask_seconds.append(run.seconds)
            question = await asyncio.to_thread(questions.current, store)
            if run.exceptions or run.error_boxes or question is None or \
                    not question.text.startswith(f"Q{number}. "):
                self.failures.append(f"ask: {run.exceptions + run.error_boxes or 'not stored'}")
            else:
                self.asked[question.id] = (text, kind, choices, right)
            at += QUESTION_SECONDS

    def lost_answers(self) -> list[SentAnswer]:
        """The sent answers (the last per student and question) the store does not hold."""
        store = ClassStore(database_url())
        try:
            held = {(question_id, answer.name): answer.value for question_id in self.asked
                    for answer in questions.answers_to(store, question_id)}
        finally:
            store.close()
        last = {(a.question_id, a.name): a for a in self.answers}
        return [a for key, a in last.items() if held.get(key) != a.value]

    def banner_delays(self) -> tuple[list[float], int]:
        """(seconds from each share to each student's banner naming it, shares missed by a
        student connected from the share until BANNER_WAIT after it)."""
        delays, missed = [], 0
        for label, pressed in self.shares:
            for tab in self.students:
                if not (tab.opened_at <= pressed and pressed + BANNER_WAIT <= tab.closed_at):
                    continue
                seen = [at for shown, at in tab.banners if shown == label and at >= pressed]
                if seen and seen[0] - pressed <= BANNER_WAIT:
                    delays.append(seen[0] - pressed)
                else:
                    missed += 1
        return delays, missed

    def errors(self) -> list[str]:
        """Every failure of the lesson: the teacher's, the answers', and the tracebacks and error
        boxes of the Class page's and the banners' own reruns."""
        found = list(self.failures) + [a.error for a in self.answers if a.error]
        tabs = [self.class_tab, *self.students] if self.class_tab else self.students
        for tab in tabs:
            found += [text for run in tab.auto_runs + tab.pushed_runs
                      for text in run.exceptions + run.error_boxes]
        return found

    def figures(self) -> dict:
        """The lesson's keys of the JSON line."""
        delays, missed = self.banner_delays()
        class_runs = self.class_tab.fragment_runs if self.class_tab else []
        banner_runs = [seconds for tab in self.students for seconds in tab.fragment_runs]
        return {
            "shares": len(self.shares), "banners_seen": len(delays), "banners_missed": missed,
            **percentiles_ms(delays, "share_to_banner_"),
            "questions": len(self.asked), "answers_sent": len(self.answers),
            "answers_acknowledged": sum(a.acknowledged for a in self.answers),
            "answers_lost": len(self.lost_answers()),
            "students_answering": len({a.name for a in self.answers}),
            **percentiles_ms([a.seconds for a in self.answers if a.seconds], "answer_"),
            "class_page_refreshes": len(class_runs), **percentiles_ms(class_runs, "class_page_"),
            **percentiles_ms(self.ask_seconds, "ask_"),
            **percentiles_ms(self.share_seconds, "share_"),
            "banner_refreshes": len(banner_runs), **percentiles_ms(banner_runs, "banner_"),
            "banner_pushes": sum(len(tab.pushed_runs) for tab in self.students),
            "lesson_errors": len(self.errors()),
        }


@contextlib.contextmanager
def lesson_environment(url: str | None) -> Iterator[Lesson]:
    """The teacher's token and the class store, in this process's environment (which a server
    started here inherits): $CNNVIZ_TEACHER_TOKEN, else a new one; $CNNVIZ_DATABASE_URL, else a
    SQLite file in a temporary folder. Against --url both must be the server's: the token is
    required, and the store is database_url() (set CNNVIZ_DATABASE_URL or CNNVIZ_RUNS_DIR)."""
    if url and not os.environ.get(TOKEN_ENV):
        raise ValueError(f"--teacher with --url: set {TOKEN_ENV} to the server's teacher token")
    saved = {name: os.environ.get(name) for name in (TOKEN_ENV, DATABASE_ENV)}
    with tempfile.TemporaryDirectory() as folder:
        os.environ[TOKEN_ENV] = saved[TOKEN_ENV] or new_token()
        if not url and not saved[DATABASE_ENV]:
            os.environ[DATABASE_ENV] = f"sqlite:///{folder}/class.db"
        try:
            yield Lesson(os.environ[TOKEN_ENV])
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def report(r: dict) -> None:
    """The lesson's lines of the Markdown (classroom.report prints the rest)."""
    print(f"Teacher: {r['shares']} shares, each on the students' banners p50/p95 "
          f"{_ms(r['share_to_banner_p50_ms'])}/{_ms(r['share_to_banner_p95_ms'])} ms after the "
          f"button ({r['banners_seen']} banners, {r['banners_missed']} missed); {r['questions']} "
          f"questions, {r['answers_sent']} answers sent by {r['students_answering']} students, "
          f"{r['answers_acknowledged']} acknowledged, {r['answers_lost']} lost (not in the "
          f"store), answer p50/p95 {_ms(r['answer_p50_ms'])}/{_ms(r['answer_p95_ms'])} ms. "
          f"Class page: {r['class_page_refreshes']} refreshes, p50/p95 "
          f"{_ms(r['class_page_p50_ms'])}/{_ms(r['class_page_p95_ms'])} ms; Ask "
          f"{_ms(r['ask_p95_ms'])} ms p95, Show this to the class {_ms(r['share_p95_ms'])} ms "
          f"p95; the students' banners refreshed {r['banner_refreshes']} times on their timers, "
          f"p50/p95 {_ms(r['banner_p50_ms'])}/{_ms(r['banner_p95_ms'])} ms, and were redrawn "
          f"{r['banner_pushes']} times by the server; "
          f"{r['lesson_errors']} errors in the lesson.")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"
