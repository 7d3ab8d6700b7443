"""Students' checked solutions: each student's latest result per task, for the teacher's view.

The Check page records a result when the class store is reachable and the browser has a name in
the class; a newer check of the same task replaces the older one (an upsert).
"""

import time
from dataclasses import dataclass

from sqlalchemy import select

from cnnviz.classroom.names import plain_text
from cnnviz.classroom.schema import check_results, students, upsert
from cnnviz.classroom.store import ClassStore

TASK_MAX = 64
SUMMARY_MAX = 500  # characters of the summary kept: its first sentences


@dataclass(frozen=True)
class CheckRow:
    name: str  # the student's display name
    task: str
    passed: int
    total: int
    summary: str
    checked_at: float  # Unix seconds

    @property
    def solved(self) -> bool:
        return self.total > 0 and self.passed == self.total


def record(store: ClassStore, browser_key: str, task: str, passed: int, total: int,
           summary: str) -> None:
    """Keeps the browser's student's latest check of `task`: `passed` of `total` cases and a
    line of what is wrong ("" when nothing is). LookupError when the browser has no name in the
    class yet, ValueError for counts that do not fit."""
    task = plain_text(task, TASK_MAX, "the task")
    if not (isinstance(passed, int) and isinstance(total, int) and 0 <= passed <= total):
        raise ValueError(f"passed and total must be integers with 0 <= passed <= total, got "
                         f"{passed!r} and {total!r}")
    summary = plain_text(summary, SUMMARY_MAX, "the summary") if summary.strip() else ""
    with store.write() as connection:
        student_id = connection.execute(select(students.c.id).where(
            students.c.browser_key == browser_key)).scalar()
        if student_id is None:
            raise LookupError("This browser has no name in the class yet: join first.")
        values = {"passed": passed, "total": total, "summary": summary,
                  "checked_at": time.time()}
        upsert(connection, check_results, {"student_id": student_id, "task": task, **values},
               ["student_id", "task"], list(values))


def latest(store: ClassStore) -> list[CheckRow]:
    """Every student's latest check of each task they checked, by name then task."""
    query = (select(students.c.name, check_results.c.task, check_results.c.passed,
                    check_results.c.total, check_results.c.summary, check_results.c.checked_at)
             .join(students).order_by(students.c.name_key, check_results.c.task))
    with store.read() as connection:
        return [CheckRow(*row) for row in connection.execute(query)]
