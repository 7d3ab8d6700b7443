"""Plotly figures of the class: the answers to a quick question as they come."""

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
