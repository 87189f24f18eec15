"""A page of channels with its channels' assignments: the listing Query, then one BatchGetItem of
every host the page names (rather than a batch per DataLoader tick, decided before any field runs).
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.model import Assignment, ChannelState
from data.channels import ChannelPage
from services.backend import ChannelsBackend


@dataclass(frozen=True)
class PageWithAssignments:
    page: ChannelPage
    # Every host the page's channels name, with its assignment (None: no such record); None when the
    # batch read failed.
    assignments: dict[str, Assignment | None] | None


async def read_page_with_assignments(
    backend: ChannelsBackend, state: ChannelState | None, first: int, after: str | None
) -> PageWithAssignments:
    """A failed assignment read is not raised here (the page still answers): each channel's
    `assignments` field then loads for itself and raises the error at its own path."""
    reads = backend.channel_reads
    page = await reads.page(state, first, after)
    hosts = sorted({host for found, _ in page.channels for host in found.assigned_host_ids})
    if not hosts:
        return PageWithAssignments(page, {})
    try:
        found = await reads.assignments(hosts)
    except Exception:  # noqa: BLE001 (raised again, located, by the fields that load for themselves)
        return PageWithAssignments(page, None)
    return PageWithAssignments(page, {host: found.get(host) for host in hosts})
