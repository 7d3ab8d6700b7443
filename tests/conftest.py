"""Fixtures shared by the training tests (tests/test_training_*.py) and the class store's
(tests/test_classroom_*.py: class_store runs each test on SQLite and on PostgreSQL)."""

import itertools
import types

import numpy as np
import pytest

from cnnviz.data.datasets import EMBEDDED_MNIST
from cnnviz.training import TrainConfig

DATABASES = itertools.count()  # a fresh PostgreSQL schema per class store test


@pytest.fixture(scope="session")
def small_mnist():
    """600 training and 200 test digits of the embedded MNIST, seeded."""
    with np.load(EMBEDDED_MNIST) as archive:
        x, y = archive["x"], archive["y"]
    order = np.random.default_rng(0).permutation(len(x))
    return types.SimpleNamespace(x_train=x[order[:600]], y_train=y[order[:600]],
                                 x_test=x[order[600:800]], y_test=y[order[600:800]])


@pytest.fixture
def small_config():
    """small_config(backend, **overrides): a TrainConfig of 2 epochs on 400 images, seed 3."""

    def make(backend, **overrides):
        settings = {"epochs": 2, "batch_size": 32, "limit": 400, "seed": 3, **overrides}
        return TrainConfig(backend=backend, **settings)

    return make


@pytest.fixture(scope="session")
def ray_service():
    """The training service on an embedded Ray with one slot (runs queue behind each other),
    started once for the session and stopped at its end."""
    from cnnviz.training import limits, service

    with pytest.MonkeyPatch.context() as env:
        env.setenv(limits.MAX_RUNS_ENV, "1")
        env.delenv(service.ADDRESS_ENV, raising=False)
        service.SERVICE.submit(lambda: None).result()
        yield service.SERVICE
        service.SERVICE.shutdown()


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server of its own for the session (tests/classroom_db.py)."""
    from tests.classroom_db import PostgresServer

    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def class_url(request, tmp_path):
    """The URL of an empty class database: SQLite in tmp_path, or PostgreSQL with a fresh schema
    (a schema costs a few milliseconds where a database costs a second here)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'class.db'}"
        return
    import sqlalchemy

    server = request.getfixturevalue("postgres_server")
    name = f"class_{next(DATABASES)}"
    admin = sqlalchemy.create_engine(server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {name}")
    admin.dispose()  # no idle connection of ours while the test runs (it may cut them all)
    yield f"{server.url()}?options=-csearch_path%3D{name}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA {name} CASCADE")
    admin.dispose()


@pytest.fixture
def class_store(class_url):
    """A ClassStore on an empty database (both kinds: class_url), closed at the end."""
    from cnnviz.classroom import ClassStore

    store = ClassStore(class_url)
    yield store
    store.close()
