"""Least privilege for services: each endpoint's allow-list, and the service names per account."""

from __future__ import annotations

import pytest

from functions.registry import HTTP_FUNCTIONS, SCHEDULED_JOBS, Auth, http_function
from shared.access.auth import ServiceAccess, ServiceCaller, ServiceRole
from shared.config import Settings
from shared.errors import Forbidden

METERING = "metering@p.iam.gserviceaccount.com"
AI = "ai@p.iam.gserviceaccount.com"
SCHEDULER = "scheduler@p.iam.gserviceaccount.com"


@pytest.fixture
def access() -> ServiceAccess:
    settings = Settings.from_environment(
        {
            "METERING_SERVICE_ACCOUNTS": f" {METERING.upper()}, {AI}",
            "SCHEDULER_SERVICE_ACCOUNTS": SCHEDULER,
            "SERVICE_NAMES": f'{{"{METERING}": ["chat", "search"]}}',
        }
    )
    return ServiceAccess.from_settings(
        settings.metering_service_accounts,
        settings.scheduler_service_accounts,
        settings.service_names,
    )


def test_each_account_is_admitted_only_where_its_allow_list_says(access: ServiceAccess) -> None:
    assert access.admit(ServiceCaller(METERING), ServiceRole.METERING).email == METERING
    assert access.admit(ServiceCaller(SCHEDULER), ServiceRole.SCHEDULER).email == SCHEDULER
    with pytest.raises(Forbidden):
        access.admit(ServiceCaller(SCHEDULER), ServiceRole.METERING)
    with pytest.raises(Forbidden):
        access.admit(ServiceCaller(METERING), ServiceRole.SCHEDULER)
    assert access.accounts == {METERING, AI, SCHEDULER}


def test_a_metering_account_acts_as_its_listed_services_or_its_own_name(
    access: ServiceAccess,
) -> None:
    listed = access.admit(ServiceCaller(METERING), ServiceRole.METERING)
    assert listed.services == {"chat", "search"}
    listed.require_service("chat")
    with pytest.raises(Forbidden):
        listed.require_service("metering")
    unlisted = access.admit(ServiceCaller(AI), ServiceRole.METERING)
    assert unlisted.services == {"ai"}
    with pytest.raises(Forbidden):
        unlisted.require_service("chat")


def test_no_allow_list_admits_nobody() -> None:
    empty = ServiceAccess.from_settings("", "", {})
    for role in ServiceRole:
        with pytest.raises(Forbidden):
            empty.admit(ServiceCaller(METERING), role)


def test_every_service_endpoint_names_its_role_and_scheduled_jobs_are_the_schedulers() -> None:
    for function in HTTP_FUNCTIONS:
        assert (function.role is not None) == (function.auth is Auth.SERVICE), function.name
    for job in SCHEDULED_JOBS:
        assert http_function(job.function).role is ServiceRole.SCHEDULER
    metering = {f.name for f in HTTP_FUNCTIONS if f.role is ServiceRole.METERING}
    assert metering == {"usage_record", "usage_batch", "usage_void", "credits_check",
                        "holds_place", "holds_capture", "holds_release"}  # fmt: skip
