"""A quick question: the teacher asks for a number or one of a few choices, every student
answers once (a new answer replaces the old: an upsert, so sixty answers at once lose none),
the teacher reveals the right answer and each student sees whether theirs was.
"""

import json
import math
import time
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from cnnviz.classroom.names import plain_text
from cnnviz.classroom.schema import answers, questions, students, upsert
from cnnviz.classroom.store import ClassStore

KINDS = ("number", "choices")
TEXT_MAX = 500
CHOICE_MAX = 100  # characters of a choice, and of an answer
CHOICES = (2, 8)  # how many choices a question has, at least and at most


@dataclass(frozen=True)
class Question:
    id: int
    text: str
    kind: str  # "number" or "choices"
    choices: tuple[str, ...]  # () for a number
    answer: str | None  # the right answer; students see it once revealed
    revealed: bool
    asked_at: float

    def is_right(self, value: str) -> bool | None:
        """Whether `value` is the right answer; None while the teacher has not given it."""
        if self.answer is None:
            return None
        if self.kind == "number":
            right = float(self.answer)
            return abs(float(value) - right) <= 1e-9 * max(1.0, abs(right))
        return value == self.answer


@dataclass(frozen=True)
class Answer:
    name: str  # the student's display name
    value: str
    answered_at: float
    right: bool | None  # None until revealed


def clean_value(kind: str, choices: tuple[str, ...], value: object) -> str:
    """An answer to a question of `kind` as stored: a number written plainly ("12", "0.5"), or
    one of `choices`. ValueError saying what to change."""
    if kind == "number":
        try:
            number = float(str(value).strip().replace("−", "-"))
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or isinstance(value, bool):
            raise ValueError("Answer with a number, such as 12 or 0.5.")
        return str(int(number)) if number.is_integer() else f"{number:.12g}"
    if value not in choices:
        raise ValueError("Answer with one of the question's choices.")
    return value


def _question(row) -> Question:
    return Question(row.id, row.text, row.kind, tuple(json.loads(row.choices)), row.answer,
                    bool(row.revealed), row.asked_at)


def ask(store: ClassStore, text: str, kind: str, choices=(), answer: object = None) -> Question:
    """Asks the class `text`: a "number" question, or "choices" among 2 to 8 distinct
    `choices`. `answer`, the right one, may wait until `reveal`. ValueError names what to fix."""
    text = plain_text(text, TEXT_MAX, "the question")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    choices = tuple(plain_text(c, CHOICE_MAX, "a choice") for c in choices)
    if kind == "choices" and not (CHOICES[0] <= len(set(choices)) == len(choices) <= CHOICES[1]):
        raise ValueError(f"choices must be {CHOICES[0]} to {CHOICES[1]} different answers")
    if kind == "number" and choices:
        raise ValueError("a number question has no choices")
    answer = None if answer is None else clean_value(kind, choices, answer)
    values = {"text": text, "kind": kind, "choices": json.dumps(choices), "answer": answer,
              "revealed": False, "asked_at": time.time()}
    with store.write() as connection:
        new_id = connection.execute(questions.insert().values(**values)).inserted_primary_key[0]
    return Question(new_id, text, kind, choices, answer, False, values["asked_at"])


def _get(connection: Connection, question_id: int) -> Question:
    row = connection.execute(select(questions).where(questions.c.id == question_id)).first()
    if row is None:
        raise LookupError(f"There is no question {question_id}: the teacher may have asked a "
                          "new one.")
    return _question(row)


def get(store: ClassStore, question_id: int) -> Question:
    """The question `question_id`; LookupError when there is none."""
    with store.read() as connection:
        return _get(connection, question_id)


def current(store: ClassStore) -> Question | None:
    """The question asked last, or None before the first."""
    with store.read() as connection:
        row = connection.execute(select(questions).order_by(questions.c.id.desc())
                                 .limit(1)).first()
        return _question(row) if row else None


def answer(store: ClassStore, question_id: int, browser_key: str, value: object) -> str:
    """Records (or replaces) the browser's student's answer; returns it as stored once it is
    committed. ValueError for an answer that does not fit the question or comes after the
    reveal; LookupError when the browser has no name yet or the question is gone."""
    with store.write() as connection:
        question = _get(connection, question_id)
        if question.revealed:
            raise ValueError("The answer has been revealed: this question takes no more answers.")
        cleaned = clean_value(question.kind, question.choices, value)
        student_id = connection.execute(select(students.c.id).where(
            students.c.browser_key == browser_key)).scalar()
        if student_id is None:
            raise LookupError("This browser has no name in the class yet: join first.")
        # one answer per student and question: a new one replaces the old, whoever writes last
        upsert(connection, answers, {"question_id": question_id, "student_id": student_id,
                                     "value": cleaned, "answered_at": time.time()},
               ["question_id", "student_id"], ["value", "answered_at"])
    return cleaned


def reveal(store: ClassStore, question_id: int, answer: object = None) -> Question:
    """Shows the right answer to the class (`answer`, or the one given when asking).
    ValueError when neither gives one."""
    with store.write() as connection:
        question = _get(connection, question_id)
        right = question.answer if answer is None else clean_value(
            question.kind, question.choices, answer)
        if right is None:
            raise ValueError("Give the right answer to reveal it.")
        connection.execute(questions.update().where(questions.c.id == question_id)
                           .values(answer=right, revealed=True))
    return Question(**{**question.__dict__, "answer": right, "revealed": True})


def answers_to(store: ClassStore, question_id: int) -> list[Answer]:
    """Every answer to the question, the first given first; `right` is set once revealed."""
    query = (select(students.c.name, answers.c.value, answers.c.answered_at).join(students)
             .where(answers.c.question_id == question_id)
             .order_by(answers.c.answered_at, students.c.name))
    with store.read() as connection:
        question = _get(connection, question_id)
        rows = connection.execute(query).all()
    return [Answer(name, value, at, question.is_right(value) if question.revealed else None)
            for name, value, at in rows]


def my_answer(store: ClassStore, question_id: int, browser_key: str) -> Answer | None:
    """The browser's student's answer to the question, or None."""
    query = (select(students.c.name, answers.c.value, answers.c.answered_at).join(students)
             .where(answers.c.question_id == question_id,
                    students.c.browser_key == browser_key))
    with store.read() as connection:
        question = _get(connection, question_id)
        row = connection.execute(query).first()
    if row is None:
        return None
    return Answer(row.name, row.value, row.answered_at,
                  question.is_right(row.value) if question.revealed else None)


def tally(store: ClassStore, question_id: int) -> dict[str, int]:
    """How many students gave each answer: every choice in order (0 included), or the numbers
    given, smallest first. What the Class page's chart draws."""
    query = (select(answers.c.value, func.count()).where(answers.c.question_id == question_id)
             .group_by(answers.c.value))
    with store.read() as connection:
        question = _get(connection, question_id)
        counts = dict(connection.execute(query).all())
    if question.kind == "choices":
        return {choice: counts.get(choice, 0) for choice in question.choices}
    return dict(sorted(counts.items(), key=lambda item: float(item[0])))
