"""The teacher's Stop on a student's live run: the Class page asks through the store, and the
replica that holds the run (whichever it is) reads the pending requests, stops the run and marks
the request handled. A request for a run no replica holds any more simply stays pending until it
is older than PENDING_SECONDS.
"""

import time

from sqlalchemy import select

from cnnviz.classroom.schema import stop_requests, upsert
from cnnviz.classroom.store import ClassStore

PENDING_SECONDS = 3600  # a request older than this is a past lesson's, not acted on


def _check_run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not 0 < len(run_id) <= 200:
        raise ValueError("run_id must be the run's folder name (1 to 200 characters)")
    return run_id


def request(store: ClassStore, run_id: str) -> None:
    """Asks the replica holding run `run_id` to stop it (again: asks again)."""
    values = {"run_id": _check_run_id(run_id), "requested_at": time.time(), "handled_at": None}
    with store.write() as connection:
        upsert(connection, stop_requests, values, ["run_id"], ["requested_at", "handled_at"])


def pending(store: ClassStore, within: float = PENDING_SECONDS) -> frozenset[str]:
    """The runs whose stop was asked in the last `within` seconds and not yet handled."""
    query = select(stop_requests.c.run_id).where(
        stop_requests.c.handled_at.is_(None),
        stop_requests.c.requested_at >= time.time() - within)
    with store.read() as connection:
        return frozenset(connection.execute(query).scalars())


def handled(store: ClassStore, run_id: str) -> None:
    """Marks the stop of `run_id` done: no replica acts on it again."""
    with store.write() as connection:
        connection.execute(stop_requests.update()
                           .where(stop_requests.c.run_id == _check_run_id(run_id))
                           .values(handled_at=time.time()))
