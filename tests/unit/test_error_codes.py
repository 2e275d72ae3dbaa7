"""One list of error codes: the code, the OpenAPI document and docs/api.md say the same."""

from __future__ import annotations

import importlib
import pkgutil
import re

import shared
from functions.openapi import build_document
from ops.settings_reach import ROOT
from shared.errors import BillingError, error_codes


def documented_codes() -> dict[str, int]:
    text = (ROOT / "docs" / "api.md").read_text()
    section = text.split("## Error codes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", section, re.M)
    return {code: int(status) for code, status in rows}


def every_billing_error() -> list[type[BillingError]]:
    for module in pkgutil.walk_packages(shared.__path__, "shared."):
        importlib.import_module(module.name)
    found, pending = [], [BillingError]
    while pending:
        error = pending.pop()
        found.append(error)
        pending.extend(error.__subclasses__())
    return found


def test_the_api_page_lists_exactly_the_codes_the_service_answers_with() -> None:
    assert documented_codes() == error_codes()


def test_the_openapi_document_lists_the_same_codes() -> None:
    detail = build_document("test")["components"]["schemas"]["ErrorDetail"]
    assert detail["properties"]["code"]["enum"] == sorted(error_codes())


def test_every_domain_error_answers_with_a_listed_code_and_status() -> None:
    codes = error_codes()
    for error in every_billing_error():
        assert codes.get(error.code) == error.status, error.__name__
