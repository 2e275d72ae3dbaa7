"""The README is an index a newcomer can trust: short, its ports those the stack opens, and every
link in it and in docs/ leading to a page and heading that exist."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from devstack.stack import Ports
from ops.settings_reach import ROOT

README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings (code blocks left out)."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    titles = re.findall(r"^#+ (.+)$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-") for title in titles}


def test_the_readme_stays_an_index() -> None:
    assert len(README.read_text().splitlines()) <= 250


def test_the_ports_table_lists_every_port_the_stack_opens() -> None:
    section = README.read_text().split("## Ports", 1)[1].split("\n## ", 1)[0]
    listed = {int(port) for port in re.findall(r"^\| (\d+) \|", section, re.M)}
    opened = {getattr(Ports(), field.name) for field in dataclasses.fields(Ports)}
    assert listed == opened


def test_every_link_of_the_readme_and_docs_leads_to_a_page_and_heading_that_exist() -> None:
    broken = []
    for page in PAGES:
        for target, anchor in re.findall(r"\]\(([^)#\s:]*)(#[^)\s]+)?\)", page.read_text()):
            linked = (page.parent / target).resolve() if target else page
            if not linked.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
            elif anchor and linked.suffix == ".md" and anchor[1:] not in anchors(linked):
                broken.append(f"{page.relative_to(ROOT)}: {target}{anchor}")
    assert not broken
