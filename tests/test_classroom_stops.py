"""The teacher's stop requests in the class store (cnnviz.classroom.stops), and the schema step
that adds their table to a version-1 database. On SQLite and on PostgreSQL (class_store)."""

import time

import pytest
from sqlalchemy import inspect, select

from cnnviz.classroom import ClassStore, schema, stops

RUN = "20261203-161800-numpy-lenet5-mnist-abc123"


def test_a_stop_request_is_pending_until_handled_and_may_be_asked_again(class_store):
    assert stops.pending(class_store) == frozenset()
    stops.request(class_store, RUN)
    stops.request(class_store, "other-run")
    assert stops.pending(class_store) == {RUN, "other-run"}
    stops.handled(class_store, RUN)
    assert stops.pending(class_store) == {"other-run"}
    stops.request(class_store, RUN)  # the teacher presses Stop again
    assert stops.pending(class_store) == {RUN, "other-run"}


def test_an_old_stop_request_is_not_acted_on(class_store, monkeypatch):
    long_ago = time.time() - stops.PENDING_SECONDS - 60
    monkeypatch.setattr(stops.time, "time", lambda: long_ago)
    stops.request(class_store, RUN)
    monkeypatch.undo()
    assert stops.pending(class_store) == frozenset()
    assert stops.pending(class_store, within=2 * stops.PENDING_SECONDS) == {RUN}


@pytest.mark.parametrize("run_id", ["", "x" * 201, None, 3])
def test_a_bad_run_id_is_refused(class_store, run_id):
    with pytest.raises(ValueError, match="run_id must be"):
        stops.request(class_store, run_id)


def test_a_version_1_database_gets_the_stop_requests_table(class_url):
    store = ClassStore(class_url)
    store.ensure_schema()
    with store.write() as connection:  # the database as cnnviz with schema version 1 left it
        schema.stop_requests.drop(connection)
        connection.execute(schema.schema_version.update().values(version=1))
    store.close()
    store = ClassStore(class_url)
    stops.request(store, RUN)
    assert stops.pending(store) == {RUN}
    with store.read() as connection:
        assert connection.execute(select(schema.schema_version.c.version)).scalar() == 2
        assert "stop_requests" in inspect(connection).get_table_names()
    store.close()
