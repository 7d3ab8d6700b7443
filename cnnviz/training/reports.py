"""What a training worker's reports carry of its run's History: only what is new since its last
report. The rows (batches, epochs) only grow, so a report holds the rows added since; any other
field (test results, times, stopped) is sent when it changed. The server adds each report to the
History it keeps, and so holds the same History as the worker after every report.
"""

import copy
from dataclasses import fields

from cnnviz.training.config import History

ROWS = ("batches", "epochs")  # History's lists that only grow


class HistorySender:
    """The worker's side: what of a growing History its earlier reports did not carry."""

    def __init__(self):
        self._rows_sent = dict.fromkeys(ROWS, 0)
        self._values_sent: dict = {}

    def news(self, history: History) -> dict:
        """The rows added to history since the last call, and the other fields that changed."""
        news = {}
        for field in fields(History):
            value = getattr(history, field.name)
            if field.name in ROWS:
                news[field.name] = value[self._rows_sent[field.name]:]
                self._rows_sent[field.name] = len(value)
            elif field.name not in self._values_sent or self._values_sent[field.name] != value:
                news[field.name] = self._values_sent[field.name] = copy.deepcopy(value)
        return copy.deepcopy(news)  # the trainer goes on while the report waits to be sent


def add_news(history: History, news: dict) -> None:
    """Add a HistorySender's news to the History built from its earlier news."""
    for name, value in news.items():
        if name in ROWS:
            getattr(history, name).extend(value)
        else:
            setattr(history, name, value)
