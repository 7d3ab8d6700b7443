""""Show this to the class": the teacher shares a view (a page and its settings), every
student's banner names it, and students who follow the teacher are moved to it.

A view is what the page's address already carries: the page's path and its query string. The
banner polls `latest` (or `since` the last share it showed): a share is a row, the latest has the
largest id.
"""

import re
import time
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import select

from cnnviz.classroom.names import plain_text
from cnnviz.classroom.schema import shares
from cnnviz.classroom.store import ClassStore

PAGE = re.compile(r"[a-z0-9][a-z0-9_\-/]{0,63}")  # a page's path as st.navigation names it
QUERY_MAX = 2000  # characters of the settings; a page's address carries a few hundred
LABEL_MAX = 200


@dataclass(frozen=True)
class Share:
    id: int
    page: str
    query: str  # without the "?"
    label: str
    shared_at: float  # Unix seconds

    @property
    def address(self) -> str:
        """The view's address relative to the app: "convolution?kernel=sobel-left&stride=2"."""
        return f"{self.page}?{self.query}" if self.query else self.page

    @property
    def settings(self) -> dict[str, str]:
        """The query string as a dict (the last value of a repeated key)."""
        return dict(parse_qsl(self.query, keep_blank_values=True))


def share(store: ClassStore, page: str, settings: dict[str, str] | str, label: str) -> Share:
    """Shares the view `page` with `settings` (a dict or a query string) under `label`.
    ValueError names the argument to fix."""
    page = page.strip("/") if isinstance(page, str) else page
    if not isinstance(page, str) or not PAGE.fullmatch(page):
        raise ValueError(f"page must be a page's path such as 'convolution', got {page!r}")
    query = settings.lstrip("?") if isinstance(settings, str) else urlencode(settings)
    if len(query) > QUERY_MAX or any(unicodedata.category(c) == "Cc" for c in query):
        raise ValueError(f"settings must be a query string of at most {QUERY_MAX} characters "
                         "without control characters")
    values = {"page": page, "query": query, "label": plain_text(label, LABEL_MAX, "label"),
              "shared_at": time.time()}
    with store.write() as connection:
        new_id = connection.execute(shares.insert().values(**values)).inserted_primary_key[0]
    return Share(new_id, **values)


def recent(store: ClassStore, limit: int = 20) -> list[Share]:
    """The last `limit` shares, the latest first."""
    with store.read() as connection:
        rows = connection.execute(select(shares).order_by(shares.c.id.desc()).limit(limit))
        return [Share(**row._mapping) for row in rows]


def latest(store: ClassStore) -> Share | None:
    """The latest share, or None before the first."""
    found = recent(store, limit=1)
    return found[0] if found else None


def since(store: ClassStore, after_id: int) -> list[Share]:
    """Shares made after the share `after_id` (0: all), the latest first."""
    with store.read() as connection:
        rows = connection.execute(select(shares).where(shares.c.id > after_id)
                                  .order_by(shares.c.id.desc()))
        return [Share(**row._mapping) for row in rows]
