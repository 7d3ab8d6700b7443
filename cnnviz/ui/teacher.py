"""The Class page's parts (app_pages/class.py), for the teacher's session only: the class's runs
and who is connected, the teacher's settings, and the quick question."""

import streamlit as st

from cnnviz.classroom import checks, overview, questions, settings, stops, students
from cnnviz.classroom.names import as_markdown
from cnnviz.classroom.store import ClassStore, StoreUnavailable
from cnnviz.figures import classroom as class_figures
from cnnviz.ui.classroom import RECENT, REFRESH_SECONDS

REFUSAL = ("This page is the teacher's. Open it with the teacher link that `cnnviz app` "
           "printed when it started (…/class?token=…).")
NO_LIMIT = 0  # a limit of 0 in the settings form: no class limit


def refusal() -> None:
    """What anyone without the teacher's token sees: the same for no token and a wrong one."""
    st.error(REFUSAL, icon=":material/lock:")


def connected_ui(store: ClassStore) -> None:
    """Students with the app open (a name given, seen in the last half minute), per replica."""
    counts = students.connected(store)
    columns = st.columns(max(2, len(counts) + 1))
    columns[0].metric("Students connected", sum(counts.values()))
    for column, (replica, count) in zip(columns[1:], sorted(counts.items())):
        column.metric(replica or "replica", count)


def runs_ui(store: ClassStore) -> None:
    """The class's runs from the shared runs folder, who needs help, and the table as CSV."""
    # the runs folder; Ray is not needed to read it
    from cnnviz.training.runs import LIVE_STATUSES, list_runs

    rows = overview.class_rows(list_runs(), students.run_owners(store))
    help_rows = overview.needs_help(rows)
    st.subheader(f"Needs help ({len(help_rows)})")
    if help_rows:
        for row in help_rows:
            who = as_markdown(row["student"]) if row["student"] else "a run without a name"
            st.markdown(f"- **{who}**: {row['state']} ({as_markdown(row['run'])}) "
                        f"{as_markdown(row['error'])}")
    else:
        st.caption("No run failed or was interrupted.")
    st.subheader(f"Runs ({len(rows)})")
    if not rows:
        st.caption("No run in the runs folder yet: students start theirs on the Training page.")
        return
    st.dataframe(rows, hide_index=True, column_config={
        "val_accuracy": st.column_config.NumberColumn("validation accuracy", format="%.3f"),
        "test_accuracy": st.column_config.NumberColumn("test accuracy", format="%.3f"),
        "images_per_s": st.column_config.NumberColumn("images/s")})
    live_runs_ui(store, [row for row in rows if row["state"] in LIVE_STATUSES])
    if any(row["state"] == "finished" and row["test_accuracy"] is not None for row in rows):
        st.plotly_chart(class_figures.leaderboard_figure(rows), key="class_leaderboard")
    st.download_button("Download the table (CSV)", overview.rows_csv(rows),
                       file_name="class-runs.csv", mime="text/csv", key="class_csv",
                       on_click="ignore")


def live_runs_ui(store: ClassStore, rows: list[dict]) -> None:
    """A Stop per live run (waiting or training): the replica that holds it stops it."""
    if not rows:
        return
    asked = stops.pending(store)
    st.subheader(f"Live runs ({len(rows)})")
    for row in rows:
        text, button = st.columns([6, 1], vertical_alignment="center")
        who = as_markdown(row["student"]) if row["student"] else "a run without a name"
        standing = "stopping…" if row["run"] in asked else f"{row['state']}, epoch {row['epoch']}"
        text.markdown(f"**{who}**: {as_markdown(row['run'])} ({standing})")
        if button.button("Stop", key=f"class_stop_{row['run']}", disabled=row["run"] in asked):
            stops.request(store, row["run"])
            st.rerun()  # the run shows "stopping…"


def checks_ui(store: ClassStore) -> None:
    """Each student's latest course check per task (the Check page), the failing ones first."""
    rows = checks.latest(store)
    failing = [row for row in rows if not row.solved]
    st.subheader(f"Course checks failing ({len(failing)})")
    for row in failing:
        st.markdown(f"- **{as_markdown(row.name)}**: {as_markdown(row.task)}, {row.passed} of "
                    f"{row.total} cases. {as_markdown(row.summary)}")
    if not rows:
        st.caption("No course solution checked yet: students check theirs on the Check page.")
    elif not failing:
        st.caption(f"Every one of the {len(rows)} latest checks passes.")


@st.fragment(run_every=REFRESH_SECONDS)
def class_overview(store: ClassStore) -> None:
    """Who is connected, the class's runs and course checks, redrawn every REFRESH_SECONDS."""
    try:
        connected_ui(store)
        runs_ui(store)
        checks_ui(store)
    except StoreUnavailable as error:
        st.error(str(error))


def settings_ui(store: ClassStore) -> None:
    """Pause training and the class limits on a run's epochs and training images."""
    try:
        current = settings.read(store)
    except StoreUnavailable as error:
        st.error(str(error))
        return
    # keyed: without a key a widget's identity is its start value, so once a Save changed the
    # stored value the next Save met a new widget, and wrote its start (the old value) back
    with st.form("class_settings"):
        st.subheader("Training in the class")
        paused = st.toggle("Pause training (nothing new starts)", value=current.paused,
                           key="class_paused")
        epochs = st.number_input("Most epochs per run (0: no limit)", 0, 1000,
                                 current.max_epochs or NO_LIMIT, step=1, key="class_max_epochs")
        images = st.number_input("Most training images per run (0: no limit)", 0, 10**7,
                                 current.max_train_images or NO_LIMIT, step=1000,
                                 key="class_max_images")
        if not st.form_submit_button("Save"):
            return
    try:
        settings.write(store, settings.TeacherSettings(
            bool(paused), int(epochs) or None, int(images) or None))
    except (ValueError, StoreUnavailable) as error:
        st.error(str(error))
        return
    st.success("Saved for every replica.")


def ask_ui(store: ClassStore) -> None:
    """The teacher's form for a new quick question: a number, or 2 to 8 choices."""
    with st.form("class_ask", clear_on_submit=True):
        st.subheader("Ask the class")
        text = st.text_input("Question", placeholder="28×28 input, 5×5 kernel, stride 2, valid "
                             "padding: output size?")
        kind = st.radio("Answered with", questions.KINDS, horizontal=True)
        choices = st.text_area("Choices (one a line; for choices only)", height=100)
        right = st.text_input("The right answer (may wait until you reveal it)")
        if not st.form_submit_button("Ask"):
            return
    offered = [line.strip() for line in choices.splitlines() if line.strip()]
    try:
        questions.ask(store, text, kind, offered if kind == "choices" else (),
                      right.strip() or None)
    except (TypeError, ValueError, StoreUnavailable) as error:
        st.error(str(error))
        return
    RECENT.clear()  # the teacher's own replica shows it at once


def reveal_ui(store: ClassStore, question: questions.Question) -> None:
    """Reveal the right answer (given now if it was not given when asking)."""
    with st.form(f"class_reveal_{question.id}", border=False):
        right = "" if question.answer else st.text_input("The right answer")
        if not st.form_submit_button("Reveal the answer"):
            return
    try:
        questions.reveal(store, question.id, right.strip() or None)
    except (ValueError, StoreUnavailable) as error:
        st.error(str(error))
        return
    RECENT.clear()


@st.fragment(run_every=REFRESH_SECONDS)
def answers_ui(store: ClassStore) -> None:
    """The current question and its answers as they come, redrawn every REFRESH_SECONDS."""
    try:
        question = questions.current(store)
        if question is None:
            st.caption("No question asked yet.")
            return
        tally = questions.tally(store, question.id)
        st.markdown(f"**{as_markdown(question.text)}** ({sum(tally.values())} answer(s))")
        st.plotly_chart(class_figures.answers_figure(
            tally, question.answer if question.revealed else None), key="class_answers")
        if question.revealed:
            st.caption(f"Revealed: {as_markdown(question.answer or '')}")
        else:
            reveal_ui(store, question)
    except StoreUnavailable as error:
        st.error(str(error))
