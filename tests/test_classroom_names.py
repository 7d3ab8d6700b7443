"""Display names: text, never markup; cleaned, capped or refused with a message; one holder."""

import re
import threading

import pytest

from cnnviz.classroom import students
from cnnviz.classroom.names import (
    ANIMALS,
    NAME_MAX,
    NameRefused,
    as_markdown,
    clean_name,
    generate_name,
    plain_text,
)
from cnnviz.classroom.students import NameTaken

GENERATED = r"[a-z]+-[a-z]+-[1-9][0-9]"


@pytest.mark.parametrize("raw", ["<script>alert(1)</script>", "**bold** _x_ # title",
                                 "[x](javascript:alert(1))", "Zoë & <b>Ada</b>"])
def test_clean_name_keeps_markup_as_literal_text(raw):
    assert clean_name(raw) == raw


def test_as_markdown_leaves_no_link_emphasis_or_tag():
    escaped = as_markdown("[x](javascript:alert(1)) **b** <script>")
    assert "](" not in escaped and "**" not in escaped and "<script>" not in escaped
    assert escaped.replace("\\", "") == "[x](javascript:alert(1)) **b** <script>"


@pytest.mark.parametrize("raw", ["\u202eAda", "A\u200fda", "\u2067Ada\u2069", "Ad\u200ba",
                                 "\ufeffAda", "A\u061cda"])
def test_clean_name_removes_bidi_and_zero_width_characters(raw):
    assert clean_name(raw) == "Ada"


def test_clean_name_normalises_to_nfc_and_single_spaces():
    assert clean_name("  Zoe\u0308\t\n Lee\u00a0 ") == "Zo\u00eb Lee"


@pytest.mark.parametrize("raw", ["Ada\x00", "Ada\x1b[31m", "Ada\x7f", "Ada\ue000"])
def test_clean_name_refuses_control_characters(raw):
    with pytest.raises(NameRefused, match="cannot hold .* remove it"):
        clean_name(raw)


@pytest.mark.parametrize("raw", ["", "   ", "\t\n", "\u200b\u200e", "\u3000"])
def test_clean_name_refuses_empty_and_whitespace_only(raw):
    with pytest.raises(NameRefused, match="Type a name"):
        clean_name(raw)


@pytest.mark.parametrize("length", [NAME_MAX + 1, 10_000])
def test_clean_name_refuses_long_names_saying_the_limit(length):
    with pytest.raises(NameRefused, match=f"{length} characters: keep it to {NAME_MAX}"):
        clean_name("a" * length)
    assert clean_name("a" * NAME_MAX) == "a" * NAME_MAX


def test_clean_name_refuses_what_is_not_text():
    with pytest.raises(NameRefused, match="text"):
        clean_name(12)


def test_generate_name_is_adjective_animal_number_and_varies():
    names = {generate_name() for _ in range(50)}
    assert all(re.fullmatch(GENERATED, name) for name in names)
    assert len(names) > 40 and {name.split("-")[1] for name in names} <= set(ANIMALS)


def test_plain_text_is_one_capped_line():
    assert plain_text("a\nb\u202e\x00c", 10, "label") == "a bc"
    assert plain_text("x" * 500, 10, "label") == "x" * 9 + "…"
    with pytest.raises(ValueError, match="label is empty"):
        plain_text(" \n", 10, "label")


def key(n: int) -> str:
    return f"browser-key-{n:06d}"


def test_join_stores_the_cleaned_name(class_store):
    student = students.join(class_store, key(1), "  <b>Ada</b>\u202e ")
    assert student.name == "<b>Ada</b>"
    assert students.find(class_store, key(1)) == student


def test_join_refuses_a_name_held_by_another_student_whatever_its_case(class_store):
    students.join(class_store, key(1), "Ada Lovelace")
    for taken in ("Ada Lovelace", "ADA LOVELACE", "ada lovelace", "Ａｄａ Lovelace"):
        with pytest.raises(NameTaken, match="already has this name: choose another") as refused:
            students.join(class_store, key(2), taken)
        assert taken not in str(refused.value)  # messages are shown as Markdown
    assert students.find(class_store, key(2)) is None


def test_a_renamed_student_frees_the_old_name(class_store):
    students.join(class_store, key(1), "Ada")
    students.join(class_store, key(2), "Grace")
    with pytest.raises(NameTaken):
        students.join(class_store, key(2), "Ada")
    assert students.find(class_store, key(2)).name == "Grace"  # the old name stays
    assert students.join(class_store, key(1), "Ada L.").name == "Ada L."
    assert students.join(class_store, key(2), "ada").name == "ada"


def test_a_student_may_rename_to_another_case_of_their_own_name(class_store):
    first = students.join(class_store, key(1), "ada")
    assert students.join(class_store, key(1), "Ada") == students.Student(first.id, "Ada", key(1))


def test_generated_names_are_given_and_unique(class_store):
    names = [students.join(class_store, key(n)).name for n in range(30)]
    assert len(set(names)) == 30 and all(re.fullmatch(GENERATED, n) for n in names)


def test_two_students_racing_for_one_name_one_wins(class_store):
    """The database's unique index decides, not a check before the insert."""
    barrier, outcomes = threading.Barrier(8), []

    def claim(n):
        barrier.wait()
        try:
            students.join(class_store, key(n), "Same Name")
            outcomes.append("won")
        except NameTaken:
            outcomes.append("taken")

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["taken"] * 7 + ["won"]
