"""Quick questions: one answer per student (a new one replaces the old), sixty at once lose
none, the reveal tells each student whether theirs was right. On SQLite and PostgreSQL."""

import threading

import pytest

from cnnviz.classroom import questions, students

SIZE = 60  # the class the issue measures


def key(n: int) -> str:
    return f"browser-key-{n:06d}"


def join_class(store, size):
    for n in range(size):
        students.join(store, key(n), f"student {n:02d}")


def test_a_new_answer_replaces_the_old(class_store):
    join_class(class_store, 2)
    question = questions.ask(class_store, "Output size?", "number", answer=12)
    assert questions.answer(class_store, question.id, key(0), "11") == "11"
    assert questions.answer(class_store, question.id, key(0), " 12.0 ") == "12"
    questions.answer(class_store, question.id, key(1), "12")
    assert [(a.name, a.value) for a in questions.answers_to(class_store, question.id)] == [
        ("student 00", "12"), ("student 01", "12")]
    assert questions.tally(class_store, question.id) == {"12": 2}


def test_sixty_students_answering_at_once_lose_no_answer(class_store):
    join_class(class_store, SIZE)
    question = questions.ask(class_store, "Which padding keeps 28x28?", "choices",
                             ["valid", "same", "full"], answer="same")
    barrier, acknowledged, errors = threading.Barrier(SIZE), [], []

    def student(n):
        barrier.wait()  # every student answers within the same instant
        try:
            questions.answer(class_store, question.id, key(n), "valid")
            acknowledged.append(questions.answer(class_store, question.id, key(n),
                                                 ["valid", "same", "full"][n % 3]))
        except Exception as error:  # noqa: BLE001 - counted, then reported by the assert
            errors.append(error)

    threads = [threading.Thread(target=student, args=(n,)) for n in range(SIZE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(acknowledged) == SIZE
    assert questions.tally(class_store, question.id) == {"valid": 20, "same": 20, "full": 20}
    given = {a.name: a.value for a in questions.answers_to(class_store, question.id)}
    assert given == {f"student {n:02d}": ["valid", "same", "full"][n % 3] for n in range(SIZE)}


def test_the_reveal_tells_each_student_whether_theirs_was_right(class_store):
    join_class(class_store, 3)
    question = questions.ask(class_store, "28x28 input, 5x5 kernel, stride 2, valid: size?",
                             "number")
    for n, value in enumerate(["12", "12.5", "13"]):
        questions.answer(class_store, question.id, key(n), value)
    assert questions.my_answer(class_store, question.id, key(0)).right is None
    with pytest.raises(ValueError, match="Give the right answer"):
        questions.reveal(class_store, question.id)
    revealed = questions.reveal(class_store, question.id, "12")
    assert revealed.revealed and revealed.answer == "12"
    assert questions.current(class_store) == revealed
    assert [a.right for a in questions.answers_to(class_store, question.id)] == [
        True, False, False]
    assert questions.my_answer(class_store, question.id, key(2)).right is False
    with pytest.raises(ValueError, match="revealed"):
        questions.answer(class_store, question.id, key(0), "13")


def test_answers_that_do_not_fit_are_refused_with_a_message(class_store):
    join_class(class_store, 1)
    number = questions.ask(class_store, "Stride?", "number", answer=2)
    choice = questions.ask(class_store, "Pooling?", "choices", ["max", "average"])
    for question, value, message in [(number, "two", "Answer with a number"),
                                     (number, "nan", "Answer with a number"),
                                     (number, "1e999", "Answer with a number"),
                                     (choice, "min", "one of the question.s choices")]:
        with pytest.raises(ValueError, match=message):
            questions.answer(class_store, question.id, key(0), value)
    assert questions.answers_to(class_store, number.id) == []
    with pytest.raises(LookupError, match="join first"):
        questions.answer(class_store, choice.id, "unknown-browser-key", "max")
    with pytest.raises(LookupError, match="no question"):
        questions.answer(class_store, choice.id + 100, key(0), "max")


@pytest.mark.parametrize("args, message", [
    (("", "number"), "question is empty"),
    (("Size?", "text"), "kind must be one of"),
    (("Pick", "choices", ["a"]), "2 to 8 different"),
    (("Pick", "choices", ["a", "a"]), "2 to 8 different"),
    (("Size?", "number", ["a", "b"]), "no choices"),
    (("Pick", "choices", ["a", "b"], "c"), "one of the question.s choices"),
])
def test_questions_that_cannot_be_asked_are_refused(class_store, args, message):
    with pytest.raises(ValueError, match=message):
        questions.ask(class_store, *args)
    assert questions.current(class_store) is None


def test_the_tally_lists_every_choice_in_order(class_store):
    join_class(class_store, 3)
    question = questions.ask(class_store, "Pick", "choices", ["b", "a", "c"])
    questions.answer(class_store, question.id, key(0), "c")
    questions.answer(class_store, question.id, key(1), "c")
    assert questions.tally(class_store, question.id) == {"b": 0, "a": 0, "c": 2}
    number = questions.ask(class_store, "n?", "number")
    for n, value in enumerate(["10", "9", "10.5"]):
        questions.answer(class_store, number.id, key(n), value)
    assert list(questions.tally(class_store, number.id)) == ["9", "10", "10.5"]


def test_a_question_text_is_plain_text(class_store):
    question = questions.ask(class_store, "<b>Size</b>\u202e\n?", "choices",
                             ["[x](javascript:alert(1))", "`y`"])
    assert questions.get(class_store, question.id).text == "<b>Size</b> ?"
    assert questions.get(class_store, question.id).choices == ("[x](javascript:alert(1))", "`y`")
