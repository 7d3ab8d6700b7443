"""The class store itself: where it lives, its schema, several writers, and a database that
cannot be reached. Each test that takes class_store runs on SQLite and on PostgreSQL."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from cnnviz.classroom import ClassStore, StoreUnavailable, questions, schema, students
from cnnviz.classroom.store import DATABASE_ENV, STUDENT_MESSAGE, database_url, shared_store

ROOT = Path(__file__).resolve().parent.parent


def test_the_default_store_is_sqlite_in_the_runs_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(DATABASE_ENV, raising=False)
    monkeypatch.setenv("CNNVIZ_RUNS_DIR", str(tmp_path / "runs"))
    assert database_url() == f"sqlite:///{tmp_path / 'runs' / 'class.db'}"
    store = ClassStore()
    students.join(store, "k" * 20, "Ada")
    assert (tmp_path / "runs" / "class.db").is_file()
    monkeypatch.setenv(DATABASE_ENV, "postgresql+psycopg://u@db.example/class")
    assert ClassStore().where == "postgresql+psycopg://u@db.example/class"


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    store = ClassStore(f"sqlite:///{tmp_path / 'class.db'}")
    with store.read() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_sqlite_store_never_imports_postgresqls_dialect(tmp_path):
    """The home page's first run opens the store: on SQLite, PostgreSQL's dialect is import time
    spent for nothing (issue 23's cold start)."""
    code = ("import sys; from cnnviz.classroom import ClassStore, students;"
            f" store = ClassStore('sqlite:///{tmp_path / 'class.db'}');"
            " students.join(store, 'k' * 20, 'Ada');"
            " print('sqlalchemy.dialects.postgresql' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "False"


def test_a_process_has_one_store_per_url_whoever_asks(monkeypatch, tmp_path):
    """The pages and a run's pause gate share it: two stores on one SQLite file would queue their
    writers apart."""
    from cnnviz.ui import classroom as class_ui  # the pages' door to the store

    url = f"sqlite:///{tmp_path / 'class.db'}"
    monkeypatch.setenv(DATABASE_ENV, url)
    store = class_ui.class_store()
    assert store is shared_store(url) is class_ui.class_store()
    assert shared_store(f"sqlite:///{tmp_path / 'other.db'}") is not store


def version_rows(store):
    with store.read() as connection:
        return connection.execute(select(schema.schema_version.c.version)).scalars().all()


def test_creating_the_schema_twice_is_harmless(class_url):
    first = ClassStore(class_url)
    students.join(first, "k" * 20, "Ada")
    first.close()
    stores = [ClassStore(class_url) for _ in range(4)]  # replicas starting together
    threads = [threading.Thread(target=store.ensure_schema) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(store._schema_ready for store in stores)
    assert version_rows(stores[0]) == [schema.SCHEMA_VERSION]
    assert students.find(stores[1], "k" * 20).name == "Ada"


def test_a_later_schema_version_migrates_once(class_url, monkeypatch):
    students.join(ClassStore(class_url), "k" * 20, "Ada")
    steps = []
    monkeypatch.setattr(schema, "SCHEMA_VERSION", schema.SCHEMA_VERSION + 1)
    monkeypatch.setitem(schema.MIGRATIONS, schema.SCHEMA_VERSION, steps.append)
    ClassStore(class_url).ensure_schema()
    ClassStore(class_url).ensure_schema()
    assert len(steps) == 1 and version_rows(ClassStore(class_url)) == [schema.SCHEMA_VERSION]


def test_a_database_from_a_newer_cnnviz_is_reported(class_url, monkeypatch):
    ClassStore(class_url).ensure_schema()
    monkeypatch.setattr(schema, "SCHEMA_VERSION", schema.SCHEMA_VERSION - 1)
    with pytest.raises(StoreUnavailable, match="upgrade cnnviz"):
        students.find(ClassStore(class_url), "k" * 20)


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://teacher:s3cret@127.0.0.1:{port}/class",  # nothing listens there
    "postgresql+psycopg://teacher:s3cret@192.0.2.1:5432/class",  # TEST-NET: no answer at all
])
def test_an_unreachable_database_says_so_quickly(url):
    from tests.classroom_db import free_port

    store = ClassStore(url.format(port=free_port()), connect_seconds=2)  # no connection yet
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as raised:
        students.join(store, "k" * 20, "Ada")
    assert time.monotonic() - started < 6  # the connect timeout bounds it
    message = str(raised.value)
    assert "cannot be reached" in message and DATABASE_ENV in message
    assert "s3cret" not in message and "teacher:***@" in message
    assert raised.value.student_message == STUDENT_MESSAGE


@pytest.mark.parametrize("url", ["not a database url", "nosuchdb://host/x",
                                 "sqlite:////proc/cnnviz-no-such-folder/class.db"])
def test_a_database_url_that_cannot_work_is_reported(url):
    with pytest.raises(StoreUnavailable, match=DATABASE_ENV):
        ClassStore(url).ensure_schema()


def test_a_stopped_database_recovers_when_it_is_back(tmp_path):
    """SQLite's file moved away and back: the store reports it, then works again."""
    folder = tmp_path / "runs"
    store = ClassStore(f"sqlite:///{folder / 'class.db'}")
    students.join(store, "k" * 20, "Ada")
    store.close()
    folder.rename(tmp_path / "away")
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(StoreUnavailable):
            students.join(store, "k" * 21, "Grace") if os.geteuid() else _unopenable(store)
    finally:
        folder.chmod(0o700)
        folder.rmdir()
    (tmp_path / "away").rename(folder)
    assert students.find(store, "k" * 20).name == "Ada"


def _unopenable(store):
    """Root opens any folder: make the database path a folder instead."""
    store.close()
    Path(store.url.database).mkdir()
    try:
        students.join(store, "k" * 21, "Grace")
    finally:
        Path(store.url.database).rmdir()


REPLICA = """
import sys
from cnnviz.classroom import ClassStore, questions
url, question, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
store = ClassStore(url)
store.ensure_schema()
print("ready", flush=True)
sys.stdin.readline()  # every replica starts answering at once
for n in range(first, first + count):
    questions.answer(store, question, f"browser-key-{n:06d}", str(n))
    print(n, flush=True)  # acknowledged: the answer is committed
"""


def class_of(store, size):
    for n in range(size):
        students.join(store, f"browser-key-{n:06d}", f"student {n}")
    return questions.ask(store, "Any number?", "number")


def start_replicas(store, question, ranges):
    """One process per (first, count) of students, each with its own store; they answer when
    all are ready."""
    url = store.url.render_as_string(hide_password=False)
    replicas = [subprocess.Popen([sys.executable, "-c", REPLICA, url, str(question.id),
                                  str(first), str(count)], cwd=ROOT, text=True,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                for first, count in ranges]
    assert [replica.stdout.readline() for replica in replicas] == ["ready\n"] * len(ranges)
    for replica in replicas:
        replica.stdin.write("go\n")
        replica.stdin.flush()
    return replicas


def test_replica_processes_writing_at_once_lose_no_answer(class_store):
    question = class_of(class_store, 60)
    replicas = start_replicas(class_store, question, [(0, 30), (30, 30)])
    outputs = [replica.communicate(timeout=60)[0] for replica in replicas]
    assert [replica.returncode for replica in replicas] == [0, 0]
    acknowledged = [int(line) for out in outputs for line in out.split()]
    assert sorted(acknowledged) == list(range(60))
    given = {a.name: a.value for a in questions.answers_to(class_store, question.id)}
    assert given == {f"student {n}": str(n) for n in range(60)}


def test_a_replica_killed_mid_answer_loses_no_acknowledged_answer(class_store):
    question = class_of(class_store, 100)
    [replica] = start_replicas(class_store, question, [(0, 100)])
    acknowledged = [int(replica.stdout.readline()) for _ in range(10)]
    replica.send_signal(signal.SIGKILL)
    replica.wait(timeout=10)
    acknowledged += [int(line) for line in replica.stdout.read().split()]
    stored = {a.name for a in questions.answers_to(class_store, question.id)}
    assert {f"student {n}" for n in acknowledged} <= stored
    assert len(stored) < 100  # it was killed before the end


@pytest.mark.parametrize("class_url", ["postgresql"], indirect=True)  # SQLite: the test above
def test_postgresql_connections_cut_by_a_restart_are_replaced(class_store):
    """The server dropped every connection (a restart): the next call reconnects (pre-ping)."""
    students.join(class_store, "k" * 20, "Ada")
    admin = ClassStore(class_store.url.render_as_string(hide_password=False))
    with admin.write() as connection:
        cut = connection.exec_driver_sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND datname = current_database() "
            "AND backend_type = 'client backend'").scalar()
    admin.close()
    assert cut >= 1
    assert students.find(class_store, "k" * 20).name == "Ada"


def test_a_machine_without_postgresql_is_told_to_run_system_deps(monkeypatch, tmp_path):
    from tests import classroom_db

    monkeypatch.setattr(classroom_db, "PG_ROOT", tmp_path)
    with pytest.raises(pytest.fail.Exception, match="scripts/system-deps.sh"):
        classroom_db.binaries()
