"""The class: students' names, shared views, quick questions, the teacher's settings and
token, kept in one database every replica shares (cnnviz.classroom.store).

A plain library: the Class page, the banners and the Training page call these functions with a
ClassStore, one per process. Every function raises StoreUnavailable when the database cannot be
reached, NameRefused/ValueError (a message saying what to change) for bad input.

    store = ClassStore()                       # runs/class.db, or $CNNVIZ_DATABASE_URL
    key = students.new_browser_key()           # kept by the student's browser
    students.join(store, key, "Ada")           # or join(store, key) for "blue-heron-12"
    shares.share(store, "convolution", {"kernel": "sobel-left"}, "Convolution: Sobel left")
    q = questions.ask(store, "Output size?", "number", answer=12)
    questions.answer(store, q.id, key, "12"); questions.reveal(store, q.id)
    settings.write(store, settings.TeacherSettings(paused=True, max_epochs=3))
    checks.record(store, key, "conv_forward", 28, 28, "")  # the Check page's latest result
"""

from cnnviz.classroom import checks, questions, settings, shares, students, tokens
from cnnviz.classroom.names import NameRefused, as_markdown, clean_name, generate_name
from cnnviz.classroom.store import ClassStore, StoreUnavailable

__all__ = ["ClassStore", "NameRefused", "StoreUnavailable", "as_markdown", "checks",
           "clean_name", "generate_name", "questions", "settings", "shares", "students", "tokens"]
