"""Pages of query results: every list in the product is cut the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from helpdesk.validation import integer

MAX_PER_PAGE = 100


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int


def paginate(query, page: Any = 1, per_page: Any = 25) -> Page:
    """Page numbers from 1, at most MAX_PER_PAGE rows a page; `query` is already ordered."""
    page = integer("page", page, low=1, high=10**6, from_text=True)
    per_page = integer("per_page", per_page, low=1, high=MAX_PER_PAGE, from_text=True)
    return Page(list(query.paginate(page, per_page)), page, per_page, query.count())
