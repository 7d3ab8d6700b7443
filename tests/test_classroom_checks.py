"""Checked solutions in the class store: a student's latest result per task, for the teacher.
On SQLite and PostgreSQL."""

import threading

import pytest

from cnnviz.classroom import checks, students


def key(n: int) -> str:
    return f"browser-key-{n:06d}"


def test_the_latest_check_of_a_task_replaces_the_older(class_store):
    students.join(class_store, key(0), "Ada")
    checks.record(class_store, key(0), "conv_forward", 3, 28, "Most likely the kernel is flipped")
    checks.record(class_store, key(0), "conv_forward", 28, 28, "")
    checks.record(class_store, key(0), "pool_forward", 0, 0, "Python cannot read it")
    rows = checks.latest(class_store)
    assert [(r.name, r.task, r.passed, r.total, r.summary) for r in rows] == [
        ("Ada", "conv_forward", 28, 28, ""), ("Ada", "pool_forward", 0, 0, "Python cannot read it")]
    assert [r.solved for r in rows] == [True, False]


def test_latest_lists_every_student_by_name(class_store):
    for n, name in enumerate(["bob", "Ada"]):
        students.join(class_store, key(n), name)
        checks.record(class_store, key(n), "pool_backward", n, 26, f"wrong {n}")
    assert [(r.name, r.passed) for r in checks.latest(class_store)] == [("Ada", 1), ("bob", 0)]


def test_a_browser_without_a_name_records_nothing(class_store):
    with pytest.raises(LookupError, match="join first"):
        checks.record(class_store, key(5), "conv_forward", 1, 2, "")
    assert checks.latest(class_store) == []


def test_bad_counts_and_long_summaries(class_store):
    students.join(class_store, key(0), "Ada")
    with pytest.raises(ValueError, match="passed and total"):
        checks.record(class_store, key(0), "conv_forward", 5, 4, "")
    checks.record(class_store, key(0), "conv_forward", 1, 4, "x" * 2000 + "\x00")
    (row,) = checks.latest(class_store)
    assert len(row.summary) == checks.SUMMARY_MAX and "\x00" not in row.summary


def test_a_student_who_leaves_takes_their_results(class_store):
    students.join(class_store, key(0), "Ada")
    checks.record(class_store, key(0), "conv_forward", 1, 4, "")
    students.leave(class_store, key(0))
    assert checks.latest(class_store) == []


def test_thirty_students_recording_at_once_lose_nothing(class_store):
    size = 30
    for n in range(size):
        students.join(class_store, key(n), f"student {n:02d}")
    barrier, errors = threading.Barrier(size), []

    def student(n):
        barrier.wait()
        try:
            checks.record(class_store, key(n), "conv_forward", n % 5, 4 + n % 5, "")
        except Exception as error:  # noqa: BLE001 - reported by the assert
            errors.append(error)

    threads = [threading.Thread(target=student, args=(n,)) for n in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {r.name: r.passed for r in checks.latest(class_store)} == {
        f"student {n:02d}": n % 5 for n in range(size)}
