"""Paged lists: every list of the API takes `page` and `page_size` and answers `{items, total, page, pages}`, so a
client knows how much there is and never mistakes a full first page for everything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 500  # store.inputs.page_size: what one read may return


@dataclass(frozen=True)
class Paging:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def pages(self, total: int) -> int:
        """How many pages `total` rows fill (one, empty, when there are none)."""
        return max(1, -(-total // self.page_size))


def paging(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="页码，从 1 开始")] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="每页条数")] = 50,
) -> Paging:
    return Paging(page, page_size)


PageParams = Annotated[Paging, Depends(paging)]
