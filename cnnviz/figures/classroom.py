"""Plotly figures of the class: the answers to a quick question as they come, and the
leaderboard of finished runs."""

import html
from collections.abc import Mapping

import plotly.graph_objects as go

ANSWER_COLOUR = "#1f77b4"
RIGHT_COLOUR = "#2ca02c"
WRONG_COLOUR = "#c7c7c7"


def answers_figure(tally: Mapping[str, int], right: str | None = None,
                   title: str = "") -> go.Figure:
    """One bar per answer given (or choice offered) with how many students gave it; once the
    right answer is known the right bar is green and the others grey. Answers are text from the
    class: escaped, so Plotly's HTML subset never renders them as markup."""
    answers = list(tally)
    if right is None:
        colours = [ANSWER_COLOUR] * len(answers)
    else:
        colours = [RIGHT_COLOUR if answer == right else WRONG_COLOUR for answer in answers]
    figure = go.Figure(go.Bar(x=[html.escape(answer) for answer in answers],
                              y=[tally[answer] for answer in answers], marker_color=colours,
                              text=[tally[answer] for answer in answers], textposition="auto",
                              hovertemplate="%{x}: %{y} student(s)<extra></extra>"))
    figure.update_xaxes(type="category", title="answer")
    figure.update_yaxes(title="students", rangemode="tozero", dtick=1 if max(
        tally.values(), default=0) <= 10 else None)
    figure.update_layout(title=title, height=320, margin={"l": 40, "r": 10, "t": 40, "b": 40},
                         showlegend=False)
    return figure


def leaderboard_figure(rows: list[dict]) -> go.Figure:
    """The finished runs' test accuracy, one bar group per dataset: each student's best run
    (a run without a student goes by its folder name), best first. rows: the Class page's
    (cnnviz.classroom.overview.class_rows)."""
    best: dict[str, dict[str, float]] = {}
    for row in rows:
        if row["state"] == "finished" and row["test_accuracy"] is not None:
            scores = best.setdefault(row["dataset"], {})
            who = row["student"] or row["run"]
            scores[who] = max(scores.get(who, 0.0), row["test_accuracy"])
    figure = go.Figure()
    for dataset, scores in sorted(best.items()):
        ranked = sorted(scores.items(), key=lambda item: -item[1])
        figure.add_trace(go.Bar(name=dataset, x=[html.escape(who) for who, _ in ranked],
                                y=[score for _, score in ranked],
                                hovertemplate="%{x}: %{y:.2%}<extra>" + dataset + "</extra>"))
    figure.update_yaxes(title="test accuracy", tickformat=".0%", rangemode="tozero")
    figure.update_xaxes(type="category")
    figure.update_layout(title="Leaderboard: finished runs", height=340, barmode="group",
                         margin={"l": 50, "r": 10, "t": 40, "b": 40})
    return figure
