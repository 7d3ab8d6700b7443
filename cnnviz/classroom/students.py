"""Who is in the class: a student is a display name held by one browser, and the runs it started.

The browser keeps its key (`new_browser_key`, a random token): the app stores it where the
browser keeps it across reloads (a cookie or the page's address), and every call here finds the
student by it. A student who reloads, or whose replica died, is found again by that key, and
with them their runs (`runs_of`).
"""

import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Connection, exc, func, select

from cnnviz.classroom.names import NameRefused, clean_name, generate_name, name_key
from cnnviz.classroom.schema import student_runs, students, upsert
from cnnviz.classroom.store import ClassStore

GENERATED_TRIES = 20  # a generated name that is taken is drawn again, this many times at most
CONNECTED_SECONDS = 30  # a student seen this recently counts as connected


class NameTaken(NameRefused):
    """Another student holds this name (compared without case)."""


@dataclass(frozen=True)
class Student:
    id: int
    name: str
    browser_key: str


def new_browser_key() -> str:
    """A fresh key for a browser that has none: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def _check_key(browser_key: object) -> str:
    if not isinstance(browser_key, str) or not 16 <= len(browser_key) <= 64:
        raise ValueError("browser_key must be a string of 16 to 64 characters "
                         "(make one with new_browser_key())")
    return browser_key


def _find(connection: Connection, browser_key: str) -> Student | None:
    row = connection.execute(select(students.c.id, students.c.name)
                             .where(students.c.browser_key == browser_key)).first()
    return Student(row.id, row.name, browser_key) if row else None


def find(store: ClassStore, browser_key: str) -> Student | None:
    """The student whose browser holds `browser_key`, or None (no name yet)."""
    with store.read() as connection:
        return _find(connection, _check_key(browser_key))


def _write_name(store: ClassStore, browser_key: str, name: str) -> Student:
    now = time.time()
    values = {"name": name, "name_key": name_key(name), "seen_at": now}
    with store.write() as connection:
        found = _find(connection, browser_key)
        if found:
            connection.execute(students.update().where(students.c.id == found.id)
                               .values(**values))
            return Student(found.id, name, browser_key)
        result = connection.execute(students.insert().values(
            browser_key=browser_key, joined_at=now, replica="", **values))
        return Student(result.inserted_primary_key[0], name, browser_key)


def _save(store: ClassStore, browser_key: str, name: str) -> Student:
    """Gives `browser_key` the name `name`; NameTaken when another key holds it."""
    for _ in range(2):
        try:
            return _write_name(store, browser_key, name)
        except exc.IntegrityError as error:
            with store.read() as connection:
                holder = connection.execute(select(students.c.browser_key).where(
                    students.c.name_key == name_key(name))).scalar()
            if holder not in (None, browser_key):
                # the message never repeats the name: pages show it as Markdown
                raise NameTaken("Someone in the class already has this name: choose another "
                                "name or take a generated one.") from error
            # the same browser joined twice at once (two tabs): its row exists now, rename it
    return _write_name(store, browser_key, name)


def join(store: ClassStore, browser_key: str, name: str | None = None) -> Student:
    """Gives the browser's student `name` (cleaned: names.clean_name), or a generated name when
    `name` is None; renames a student who already has one. NameRefused (NameTaken) says why a
    name cannot be used; the name the student had stays."""
    _check_key(browser_key)
    if name is not None:
        return _save(store, browser_key, clean_name(name))
    for _ in range(GENERATED_TRIES):
        try:
            return _save(store, browser_key, generate_name())
        except NameTaken:
            continue
    raise NameTaken("No free generated name was found: type a name of your own.")


def leave(store: ClassStore, browser_key: str) -> None:
    """Forgets the browser's student, their answers and the labels of their runs; the name is
    free again."""
    with store.write() as connection:
        connection.execute(students.delete().where(students.c.browser_key ==
                                                   _check_key(browser_key)))


def seen(store: ClassStore, browser_key: str, replica: str = "") -> None:
    """Notes that the student's page is open now, served by `replica`."""
    with store.write() as connection:
        connection.execute(students.update()
                           .where(students.c.browser_key == _check_key(browser_key))
                           .values(seen_at=time.time(), replica=replica[:64]))


def connected(store: ClassStore, within: float = CONNECTED_SECONDS) -> dict[str, int]:
    """Students seen in the last `within` seconds, counted per replica."""
    query = (select(students.c.replica, func.count()).where(students.c.seen_at >=
                                                            time.time() - within)
             .group_by(students.c.replica))
    with store.read() as connection:
        return {replica: count for replica, count in connection.execute(query)}


def label_run(store: ClassStore, browser_key: str, run_id: str) -> None:
    """Labels the run `run_id` (its folder name under runs/) as the browser's student's (again:
    harmless). LookupError when that browser has no name yet (join first)."""
    if not isinstance(run_id, str) or not 0 < len(run_id) <= 200:
        raise ValueError("run_id must be the run's folder name (1 to 200 characters)")
    with store.write() as connection:
        student = _find(connection, _check_key(browser_key))
        if student is None:
            raise LookupError("This browser has no name in the class yet: join first.")
        upsert(connection, student_runs, {"run_id": run_id, "student_id": student.id,
                                          "started_at": time.time()}, ["run_id"], ["student_id"])


def runs_of(store: ClassStore, browser_key: str) -> list[str]:
    """The browser's student's runs, the latest first."""
    query = (select(student_runs.c.run_id).join(students)
             .where(students.c.browser_key == _check_key(browser_key))
             .order_by(student_runs.c.started_at.desc(), student_runs.c.run_id.desc()))
    with store.read() as connection:
        return list(connection.execute(query).scalars())


def run_owners(store: ClassStore) -> dict[str, str]:
    """Every labelled run: run_id -> its student's name."""
    query = select(student_runs.c.run_id, students.c.name).join(students)
    with store.read() as connection:
        return {run_id: name for run_id, name in connection.execute(query)}
