"""Shares, teacher settings, students' runs and presence, and the teacher's token. The store's
tests run on SQLite and on PostgreSQL."""

import hmac
import time

import pytest

from cnnviz.classroom import settings, shares, students, tokens
from cnnviz.classroom.settings import TeacherSettings


def key(n: int) -> str:
    return f"browser-key-{n:06d}"


def test_shares_come_latest_first(class_store):
    assert shares.latest(class_store) is None
    first = shares.share(class_store, "convolution", {"kernel": "sobel-left", "stride": "2"},
                         "Convolution: Sobel left, stride 2")
    second = shares.share(class_store, "/pooling/", "?size=2&mode=max", "Pooling: max 2x2")
    assert [s.id for s in shares.recent(class_store)] == [second.id, first.id]
    assert shares.latest(class_store) == second
    assert shares.since(class_store, first.id) == [second]
    assert shares.since(class_store, 0) == [second, first]
    assert first.address == "convolution?kernel=sobel-left&stride=2"
    assert second.page == "pooling" and second.settings == {"size": "2", "mode": "max"}


def test_a_share_label_is_plain_text_and_bad_views_are_refused(class_store):
    shared = shares.share(class_store, "draw", {}, "<script>x</script>\u202e\n" + "y" * 500)
    assert shared.label.startswith("<script>x</script> yyy") and len(shared.label) == 200
    assert shared.address == "draw"
    for page, query, message in [("../etc", "", "page must be"), ("Conv Page", "", "page must"),
                                 ("conv", "a=\x00", "control characters"),
                                 ("conv", "a=" + "1" * 3000, "at most 2000")]:
        with pytest.raises(ValueError, match=message):
            shares.share(class_store, page, query, "label")
    with pytest.raises(ValueError, match="label is empty"):
        shares.share(class_store, "conv", "", "   ")
    assert shares.recent(class_store) == [shared]


def test_settings_round_trip(class_store):
    assert settings.read(class_store) == TeacherSettings()
    chosen = TeacherSettings(paused=True, max_epochs=3, max_train_images=5000)
    assert settings.write(class_store, chosen) == chosen
    assert settings.read(class_store) == chosen
    settings.write(class_store, TeacherSettings(paused=False, max_epochs=None))
    assert settings.read(class_store) == TeacherSettings(False, None, None)


@pytest.mark.parametrize("bad, message", [
    (TeacherSettings(max_epochs=0), "max_epochs must be an integer of at least 1"),
    (TeacherSettings(max_train_images=1), "max_train_images must be an integer of at least 2"),
    (TeacherSettings(max_epochs=2.5), "max_epochs"), (TeacherSettings(max_epochs=True), "max"),
])
def test_bad_settings_are_refused_and_the_last_good_ones_stay(class_store, bad, message):
    settings.write(class_store, TeacherSettings(max_epochs=4))
    with pytest.raises(ValueError, match=message):
        settings.write(class_store, bad)
    assert settings.read(class_store) == TeacherSettings(max_epochs=4)


def test_limited_applies_the_class_limits():
    limits = TeacherSettings(max_epochs=3, max_train_images=1000)
    assert limits.limited(10, None) == (3, 1000)
    assert limits.limited(2, 500) == (2, 500)
    assert TeacherSettings().limited(10, None) == (10, None)


def test_a_students_runs_are_found_again_by_the_browser_key(class_store):
    students.join(class_store, key(1), "Ada")
    students.join(class_store, key(2), "Grace")
    students.label_run(class_store, key(1), "20261203-151700-keras-lenet5")
    students.label_run(class_store, key(2), "20261203-151705-numpy-lenet5")
    students.label_run(class_store, key(1), "20261203-152000-keras-mlp")
    students.label_run(class_store, key(1), "20261203-152000-keras-mlp")  # a retry: harmless
    assert students.runs_of(class_store, key(1)) == ["20261203-152000-keras-mlp",
                                                     "20261203-151700-keras-lenet5"]
    assert students.run_owners(class_store) == {"20261203-151700-keras-lenet5": "Ada",
                                                "20261203-151705-numpy-lenet5": "Grace",
                                                "20261203-152000-keras-mlp": "Ada"}
    with pytest.raises(LookupError, match="join first"):
        students.label_run(class_store, key(3), "20261203-153000-keras-mlp")


def test_leaving_frees_the_name_and_forgets_the_runs(class_store):
    students.join(class_store, key(1), "Ada")
    students.label_run(class_store, key(1), "run-1")
    students.leave(class_store, key(1))
    assert students.find(class_store, key(1)) is None
    assert students.run_owners(class_store) == {}
    assert students.join(class_store, key(2), "ADA").name == "ADA"


def test_connected_counts_students_seen_lately_per_replica(class_store, monkeypatch):
    for n in range(3):
        students.join(class_store, key(n), f"s{n}")
        students.seen(class_store, key(n), "replica1" if n else "replica2")
    assert students.connected(class_store) == {"replica1": 2, "replica2": 1}
    later = time.time() + students.CONNECTED_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    students.seen(class_store, key(0), "replica2")
    assert students.connected(class_store) == {"replica2": 1}


def test_a_browser_key_that_is_not_one_is_refused(class_store):
    for bad in ("short", None, "x" * 65):
        with pytest.raises(ValueError, match="browser_key must be"):
            students.join(class_store, bad, "Ada")
    assert len(students.new_browser_key()) >= 16
    assert students.new_browser_key() != students.new_browser_key()


def test_the_teacher_token_is_random_unless_set(monkeypatch):
    monkeypatch.delenv(tokens.TOKEN_ENV, raising=False)
    first, second = tokens.teacher_token(), tokens.teacher_token()
    assert first != second and len(first) >= 32
    monkeypatch.setenv(tokens.TOKEN_ENV, "from-the-environment-1234")
    assert tokens.teacher_token() == "from-the-environment-1234"
    assert tokens.teacher_token("given-on-the-command-line") == "given-on-the-command-line"
    with pytest.raises(ValueError, match="at least 16"):
        tokens.teacher_token("short")


def test_the_token_compare_refuses_alike_and_runs_in_constant_time(monkeypatch):
    token = tokens.new_token()
    compared = []
    monkeypatch.setattr(hmac, "compare_digest",
                        lambda a, b: compared.append((a, b)) or a == b)
    assert tokens.token_matches(token, token)
    assert compared == [(token.encode(), token.encode())]
    for offered in (None, "", token[:-1], token + "x", token.upper(), ["list"]):
        assert tokens.token_matches(offered, token) is False
    assert tokens.token_matches(token, "") is False
