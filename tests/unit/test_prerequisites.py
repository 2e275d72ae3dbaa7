"""A missing prerequisite skips a test locally and fails it under CI (tests/prerequisites.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.prerequisites import prerequisite_missing, under_ci

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes"])
def test_ci_is_recognised_as_ci_services_set_it(value: str) -> None:
    assert under_ci({"CI": value})


@pytest.mark.parametrize("environ", [{}, {"CI": ""}, {"CI": "false"}, {"CI": "0"}])
def test_no_ci_variable_or_a_false_one_is_a_developer_machine(environ: dict[str, str]) -> None:
    assert not under_ci(environ)


def test_a_missing_prerequisite_is_a_skip_that_says_why_locally(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium is not installed"):
        prerequisite_missing("Chromium is not installed")


def test_a_missing_prerequisite_fails_the_test_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"Chromium is not installed.*CI=true"):
        prerequisite_missing("Chromium is not installed")


def test_the_ci_script_runs_the_suite_with_ci_set() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert "export CI=true" in script.split("make test")[0]


def test_no_browser_walkthrough_or_portal_test_calls_pytest_skip_itself() -> None:
    """Every skip of a missing tool goes through the helper, so CI turns it into a failure."""
    callers = [
        path.relative_to(ROOT)
        for path in (ROOT / "tests").rglob("*.py")
        if "pytest.skip(" in path.read_text()
        and path.name not in ("prerequisites.py", "test_prerequisites.py")
    ]
    assert callers == []
