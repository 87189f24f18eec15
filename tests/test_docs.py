"""The README is the front door (at most 400 lines) and every relative link of the README and docs/
leads to a file of the repository, at a heading that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def prose(text: str) -> str:
    """The text outside code fences (a link in a code sample is code, not a link)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


def anchors(page: Path) -> set[str]:
    """GitHub's anchor of each heading: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", prose(page.read_text()), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def relative_links(page: Path) -> list[str]:
    return [target for target in LINK.findall(prose(page.read_text()))
            if not re.match(r"[a-z]+:", target) and not target.startswith("#")]


def test_the_readme_has_at_most_400_lines() -> None:
    assert len(README.read_text().splitlines()) <= 400


def test_the_readme_points_at_nothing_outside_the_repository() -> None:
    assert "../" not in README.read_text()


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_of_the_repository(page: Path) -> None:
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve()
        assert linked.is_relative_to(ROOT) and linked.exists(), f"{target} in {page.name}"
        if anchor:
            assert anchor in anchors(linked), f"{target} in {page.name}: no heading '{anchor}'"


def test_the_readme_links_every_doc() -> None:
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in relative_links(README)}
    assert [page.name for page in PAGES[1:] if page not in linked] == []
