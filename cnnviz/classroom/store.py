"""The class store: one database every replica shares, reached through SQLAlchemy (Core).

SQLite in the runs folder (`runs/class.db`) on one machine, nothing extra to run; PostgreSQL at
$CNNVIZ_DATABASE_URL (`postgresql+psycopg://user:password@host/db`) when the class spans several
machines. Every write is one transaction, committed before the call returns, so an answer that was
acknowledged survives the replica that took it. When the database cannot be reached, every call
raises StoreUnavailable, whose messages the teacher's and students' pages show as they are.

SQLite: write-ahead logging lets readers go on while one process writes; writes take the write
lock up front (BEGIN IMMEDIATE) and wait up to BUSY_SECONDS for it, so replicas queue rather than
fail with "database is locked".
"""

import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy import Connection, create_engine, event, exc
from sqlalchemy.engine import URL, Engine, make_url

from cnnviz import paths
from cnnviz.classroom import schema

DATABASE_ENV = "CNNVIZ_DATABASE_URL"
CONNECT_SECONDS = 3  # a database that does not answer is reported after this long (libpq: >= 2)
BUSY_SECONDS = 10  # a SQLite writer waits this long for the write lock before giving up
POOL_SECONDS = 10  # a thread waits this long for a free connection of the pool
STUDENT_MESSAGE = ("The class is not reachable right now: your teacher has been told. "
                   "The explorer pages keep working.")


class StoreUnavailable(RuntimeError):
    """The class database cannot be reached or used; str() is the teacher's message (it names
    the database, never its password), `student_message` the students'."""

    student_message = STUDENT_MESSAGE


def database_url() -> str:
    """$CNNVIZ_DATABASE_URL, else SQLite in the runs folder (class.db)."""
    return os.environ.get(DATABASE_ENV) or f"sqlite:///{paths.runs_dir() / 'class.db'}"


def _use_sqlite_transactions(engine: Engine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE for the store's writes (plain BEGIN for reads)."""

    @event.listens_for(engine, "connect")
    def connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000}")
        # FULL: a commit is on disk before the answer is acknowledged, even if the machine stops
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin(connection: Connection):
        write = connection.get_execution_options().get("cnnviz_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: URL, connect_seconds: float = CONNECT_SECONDS) -> Engine:
    """An engine for `url` with bounded waits: connecting, the pool, SQLite's write lock."""
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(url.database)), exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_SECONDS},
                               pool_timeout=POOL_SECONDS)
        _use_sqlite_transactions(engine)
        return engine
    args = {"connect_timeout": max(2, round(connect_seconds))}
    if url.get_backend_name() != "postgresql":
        args = {}  # other databases may work through SQLAlchemy; only PostgreSQL is tested
    return create_engine(url, connect_args=args, pool_pre_ping=True, pool_timeout=POOL_SECONDS)


class ClassStore:
    """The class's shared state. Thread-safe: one per process serves every session.

    `write()` and `read()` give a Connection inside a transaction; the functions of
    cnnviz.classroom (students, shares, questions, settings) take the store as first argument.
    """

    def __init__(self, url: str | None = None, *, connect_seconds: float = CONNECT_SECONDS):
        try:
            self.url = make_url(url or database_url())
            self.engine = make_engine(self.url, connect_seconds)
        except (exc.ArgumentError, exc.NoSuchModuleError, ImportError, OSError) as error:
            raise StoreUnavailable(f"The class database URL cannot be used ({error}): set "
                                   f"{DATABASE_ENV} to e.g. postgresql+psycopg://user@host/db"
                                   ) from error
        self._writer = self.engine.execution_options(cnnviz_write=True)
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        # SQLite has one writer at a time: this process's writers queue here, in order, rather
        # than poll the file lock (its busy handler sleeps up to 100 ms between tries)
        self._sqlite_writers = threading.Lock() if self.dialect == "sqlite" else nullcontext()

    def __repr__(self) -> str:
        return f"ClassStore({self.where!r})"

    @property
    def where(self) -> str:
        """The database's URL without its password: safe to show and to log."""
        return self.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.url.get_backend_name()

    @contextmanager
    def _reporting(self) -> Iterator[None]:
        """Database errors that are not the caller's (unreachable, timeout) -> StoreUnavailable."""
        try:
            yield
        except (exc.OperationalError, exc.InterfaceError, exc.TimeoutError, OSError) as error:
            cause = getattr(error, "orig", None) or error
            raise StoreUnavailable(f"The class database at {self.where} cannot be reached: "
                                   f"{str(cause).strip().splitlines()[0]}. Check that it runs "
                                   f"and that {DATABASE_ENV} names it.") from error

    def ensure_schema(self) -> None:
        """Creates or migrates the tables once per process; harmless when they exist."""
        if self._schema_ready:
            return
        with self._schema_lock, self._reporting():
            if not self._schema_ready:
                try:
                    with self._writer.begin() as connection:
                        schema.ensure(connection)
                except schema.SchemaTooNew as error:
                    raise StoreUnavailable(f"{self.where}: {error}") from error
                self._schema_ready = True

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed when the block ends (rolled back if it raises)."""
        self.ensure_schema()
        with self._sqlite_writers, self._reporting(), self._writer.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction: one consistent snapshot of the class."""
        self.ensure_schema()
        with self._reporting(), self.engine.connect() as connection:
            yield connection

    def close(self) -> None:
        """Closes the pool's connections (a later call opens new ones)."""
        self.engine.dispose()


@functools.lru_cache(maxsize=4)  # a process uses one URL (a test run, one per test): 4 is ample
def shared_store(url: str) -> ClassStore:
    """This process's one ClassStore for `url`, whoever asks (the pages, a run's pause gate): one
    pool, one schema check, and one queue of SQLite writers, which two stores on one file would
    not share. StoreUnavailable for a URL that cannot work (not kept: the next call tries again).
    """
    return ClassStore(url)
