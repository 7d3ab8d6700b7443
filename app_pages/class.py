"""The Class page (/class?token=TOKEN): the teacher's view of the class. Without the teacher's
token it shows nothing of the class."""

import streamlit as st

from cnnviz.ui import classroom, teacher

st.title("Class")
if not classroom.admit_teacher():
    teacher.refusal()
    st.stop()
try:
    store = classroom.class_store()
    store.ensure_schema()
except classroom.StoreUnavailable as error:
    st.error(str(error))
    st.stop()

teacher.class_overview(store)
settings_column, question_column = st.columns(2)
with settings_column:
    teacher.settings_ui(store)
with question_column:
    teacher.ask_ui(store)
    teacher.answers_ui(store)
