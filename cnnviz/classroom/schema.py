"""The class store's tables (SQLAlchemy Core) and how a database gets them.

Eight small tables and single-row updates: Core states them plainly and its `insert ... on
conflict` is the upsert answers need; the ORM's sessions and identity map would add nothing here.

Schema changes: raise SCHEMA_VERSION and add MIGRATIONS[new_version], a function that alters the
tables of the previous version (ALTER TABLE, data moves) on the connection it is given; new tables
need no migration, `create_all` adds them. `ensure` runs the missing steps in order, in one
transaction, under a lock so that replicas starting together migrate once. Alembic would earn its
place once migrations need autogeneration or downgrades; a version row is enough for this size.
"""

import importlib
from collections.abc import Callable

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
    text,
)

SCHEMA_VERSION = 2
MIGRATIONS: dict[int, Callable[[Connection], None]] = {}  # version -> step from version - 1
LOCK_ID = 0x636E6E76  # "cnnv": PostgreSQL advisory lock held while creating or migrating
NAME_MAX = 40  # characters of a display name (cnnviz.classroom.names)

metadata = MetaData()

schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))

students = Table(
    "students", metadata,
    Column("id", Integer, primary_key=True),
    Column("browser_key", String(64), nullable=False, unique=True),  # kept by the browser
    Column("name", String(NAME_MAX), nullable=False),
    # the name folded (NFKC, casefold): unique, so two students never hold the same name at once
    Column("name_key", Text, nullable=False, unique=True),
    Column("joined_at", Float, nullable=False),  # Unix seconds
    Column("seen_at", Float, nullable=False),
    Column("replica", String(64), nullable=False, server_default=""),
)

student_runs = Table(
    "student_runs", metadata,
    Column("run_id", String(200), primary_key=True),  # the run's folder name under runs/
    Column("student_id", ForeignKey("students.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("started_at", Float, nullable=False),
)

shares = Table(
    "shares", metadata,
    Column("id", Integer, primary_key=True),  # increasing: the latest share has the largest id
    Column("page", String(64), nullable=False),
    Column("query", Text, nullable=False),  # the page's settings as its address carries them
    Column("label", String(200), nullable=False),
    Column("shared_at", Float, nullable=False),
)

questions = Table(
    "questions", metadata,
    Column("id", Integer, primary_key=True),
    Column("text", Text, nullable=False),
    Column("kind", String(16), nullable=False),  # "number" or "choices"
    Column("choices", Text, nullable=False),  # JSON list of strings; [] for a number
    Column("answer", String(100)),  # the right answer, None until the teacher gives it
    Column("revealed", Boolean, nullable=False),
    Column("asked_at", Float, nullable=False),
)

answers = Table(
    "answers", metadata,
    Column("question_id", ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True),
    Column("student_id", ForeignKey("students.id", ondelete="CASCADE"), primary_key=True),
    Column("value", String(100), nullable=False),
    Column("answered_at", Float, nullable=False),
)

check_results = Table(  # a student's latest check of each task (cnnviz.classroom.checks)
    "check_results", metadata,
    Column("student_id", ForeignKey("students.id", ondelete="CASCADE"), primary_key=True),
    Column("task", String(64), primary_key=True),
    Column("passed", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("summary", Text, nullable=False),  # the diagnosis's first line, or the problem's
    Column("checked_at", Float, nullable=False),
)

teacher_settings = Table(
    "teacher_settings", metadata,
    Column("id", Integer, primary_key=True),  # always 1: one row
    Column("paused", Boolean, nullable=False),
    Column("max_epochs", Integer),  # None: no class limit
    Column("max_train_images", Integer),
    Column("updated_at", Float, nullable=False),
)

stop_requests = Table(  # the teacher's Stop on a live run (cnnviz.classroom.stops)
    "stop_requests", metadata,
    Column("run_id", String(200), primary_key=True),  # the run's folder name under runs/
    Column("requested_at", Float, nullable=False),
    Column("handled_at", Float),  # None until the replica holding the run stopped it
)


def _add_stop_requests(connection: Connection) -> None:
    stop_requests.create(connection, checkfirst=True)


MIGRATIONS[2] = _add_stop_requests  # version 2: the teacher stops runs


class SchemaTooNew(RuntimeError):
    """The database was made by a newer cnnviz than this one."""


def ensure(connection: Connection) -> None:
    """Creates the tables, or migrates them to SCHEMA_VERSION, inside the caller's transaction."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": LOCK_ID})
    schema_version.create(connection, checkfirst=True)
    found = connection.execute(select(schema_version.c.version)).scalar()
    if found is not None and found > SCHEMA_VERSION:
        raise SchemaTooNew(f"the class database has schema version {found}, this cnnviz knows "
                           f"up to {SCHEMA_VERSION}: upgrade cnnviz on this machine")
    for version in range((found or SCHEMA_VERSION) + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[version](connection)
    metadata.create_all(connection, checkfirst=True)
    if found is None:
        connection.execute(schema_version.insert().values(version=SCHEMA_VERSION))
    elif found < SCHEMA_VERSION:
        connection.execute(schema_version.update().values(version=SCHEMA_VERSION))


def upsert(connection: Connection, table: Table, values: dict, keys: list, update: list) -> None:
    """Inserts `values`, or updates the columns `update` of the row with the same `keys`: one
    statement (INSERT ... ON CONFLICT DO UPDATE), atomic however many writers race."""
    # The connection's own dialect module (already imported by its engine): importing PostgreSQL's
    # at module level added it to the first page's imports on SQLite too.
    insert = importlib.import_module(f"sqlalchemy.dialects.{connection.dialect.name}").insert
    statement = insert(table).values(**values)
    connection.execute(statement.on_conflict_do_update(
        index_elements=keys, set_={name: statement.excluded[name] for name in update}))
