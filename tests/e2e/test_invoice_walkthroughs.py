"""The walkthroughs of docs/invoices.md run as written, twice in a row, on `make dev`'s stack."""

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


def walkthroughs() -> list[str]:
    text = (ROOT / "docs" / "invoices.md").read_text()
    return re.findall(r"```bash\n(.*?)```", text.split("## Trying it by hand", 1)[1], re.S)


@pytest.fixture(scope="module")
def dev_stack() -> Iterator[Stack]:
    stack = Stack.from_environment({}, ports=Ports())
    try:
        stack.start()
    except PortInUse as busy:
        prerequisite_missing(f"the walkthroughs' ports are taken (is `make dev` running?): {busy}")
    try:
        seed_default_packages(stack.client_env())
        yield stack
    finally:
        stack.stop()


def test_the_docs_have_the_walkthroughs() -> None:
    assert len(walkthroughs()) == 2


@pytest.mark.parametrize("number", range(1, len(walkthroughs()) + 1))
def test_an_invoice_walkthrough_runs_as_written_twice(dev_stack: Stack, number: int) -> None:
    missing = [tool for tool in ("jq", "curl", "make") if shutil.which(tool) is None]
    assert not missing, f"install {missing} (`make test` installs them with apt)"
    for run in (1, 2):
        done = subprocess.run(
            ["/bin/bash", "-euo", "pipefail", "-c", walkthroughs()[number - 1]],
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
