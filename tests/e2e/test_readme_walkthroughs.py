"""Every walkthrough runs as written, twice in a row, on the stack `make dev` runs.

The blocks are the ``bash`` blocks of docs/walkthroughs.md (the README links it) and of the
"Trying it by hand" section of docs/invoices.md, run with bash against one stack on the default
ports and ``.stack/`` (as ``make dev`` starts it), so a walkthrough that drifts from the service
fails here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from devstack.busy_ports import PortInUse
from devstack.seed import seed_default_packages
from devstack.stack import ROOT, Ports, Stack
from tests.prerequisites import prerequisite_missing

pytestmark = pytest.mark.stack


WALKTHROUGHS = ROOT / "docs" / "walkthroughs.md"
INVOICES = ROOT / "docs" / "invoices.md"


def walkthroughs() -> list[str]:
    invoices = INVOICES.read_text().split("## Trying it by hand", 1)[1]
    return [
        *re.findall(r"```bash\n(.*?)```", WALKTHROUGHS.read_text(), re.S),
        *re.findall(r"```bash\n(.*?)```", invoices, re.S),
    ]


@pytest.fixture(scope="module")
def dev_stack() -> Iterator[Stack]:
    # The scheduler expires holds every 2 s here (walkthrough 5 waits for it either way).
    stack = Stack.from_environment({"DEV_SCHEDULE_HOLDS_EXPIRE_SECONDS": "2"}, ports=Ports())
    try:
        stack.start()
    except PortInUse as busy:
        prerequisite_missing(f"the README's ports are taken (is `make dev` running?): {busy}")
    try:
        seed_default_packages(stack.client_env())
        yield stack
    finally:
        stack.stop()


def test_the_walkthroughs_page_has_every_walkthrough() -> None:
    assert len(walkthroughs()) == 7 + 2  # walkthroughs.md, then invoices.md


@pytest.mark.parametrize("number", range(1, len(walkthroughs()) + 1))
def test_a_walkthrough_runs_as_written_twice(dev_stack: Stack, number: int) -> None:
    missing = [tool for tool in ("jq", "curl", "make") if shutil.which(tool) is None]
    assert not missing, f"install {missing} (`make test` installs them with apt)"
    block = walkthroughs()[number - 1]
    for run in (1, 2):
        done = subprocess.run(
            ["/bin/bash", "-euo", "pipefail", "-c", block],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert done.returncode == 0, (
            f"walkthrough {number}, run {run}: exit {done.returncode}\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
