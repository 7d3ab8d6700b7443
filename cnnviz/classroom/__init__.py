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
    stops.request(store, run_id)               # the teacher stops a student's live run
"""

import importlib

# Imported on first use, so that `cnnviz app` reads its teacher token (tokens) without loading
# SQLAlchemy before it starts Streamlit.
_FROM = {"NameRefused": "names", "as_markdown": "names", "clean_name": "names",
         "generate_name": "names", "ClassStore": "store", "StoreUnavailable": "store"}
_MODULES = ("checks", "questions", "settings", "shares", "stops", "students", "tokens")

__all__ = ["ClassStore", "NameRefused", "StoreUnavailable", "as_markdown", "checks",
           "clean_name", "generate_name", "questions", "settings", "shares", "stops", "students",
           "tokens"]


def __getattr__(name: str):
    if name in _MODULES:
        return importlib.import_module(f"cnnviz.classroom.{name}")
    if name in _FROM:
        return getattr(importlib.import_module(f"cnnviz.classroom.{_FROM[name]}"), name)
    raise AttributeError(f"module 'cnnviz.classroom' has no attribute {name!r}")
