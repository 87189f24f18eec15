"""One paginated list for every kind (Relay's connection shape): `Connection[Channel]` is the schema's
`ChannelConnection`, with `ChannelEdge`s and a `PageInfo`."""

from __future__ import annotations

from typing import Generic, TypeVar

import strawberry

T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @classmethod
    def of(cls, edges: list[Edge[T]], has_next_page: bool) -> Connection[T]:
        """A page: its edges, and whether more follow (the last edge's cursor continues it)."""
        return cls(edges=edges, page_info=PageInfo(has_next_page=has_next_page,
                                                   end_cursor=edges[-1].cursor if edges else None))
