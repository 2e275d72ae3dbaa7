"""Admin grant and adjust on fakes: once per Idempotency-Key, never a debt, bad input named."""

from __future__ import annotations

import pytest

from shared.accounts.admin_credits import change_credits
from shared.errors import IdempotencyKeyReused, InsufficientCredits, InvalidRequest
from shared.ledger.entries import EntryType, Posting
from tests.unit.fakes import MemoryLedger


def test_a_grant_with_a_key_is_applied_once_and_replayed_after() -> None:
    ledger = MemoryLedger()
    first = change_credits(
        ledger, "admin1", "alice", amount=500, reason="goodwill", adjust=False, request_key="k1"
    )
    again = change_credits(
        ledger, "admin1", "alice", amount=500, reason="goodwill", adjust=False, request_key="k1"
    )
    assert (first.replayed, again.replayed) == (False, True)
    assert again.entry.id == first.entry.id
    assert first.entry.type is EntryType.GRANT
    assert ledger.head("alice").balance == 500


@pytest.mark.parametrize(
    "other_use",
    [
        {"user_id": "bob"},
        {"amount": 501},
        {"reason": "another reason"},
        {"adjust": True},
    ],
)
def test_a_key_reused_for_another_user_amount_reason_or_endpoint_is_refused(
    other_use: dict[str, object],
) -> None:
    ledger = MemoryLedger()
    change_credits(
        ledger, "admin1", "alice", amount=500, reason="goodwill", adjust=False, request_key="k1"
    )
    given: dict[str, object] = {
        "user_id": "alice",
        "amount": 500,
        "reason": "goodwill",
        "adjust": False,
        **other_use,
    }
    with pytest.raises(IdempotencyKeyReused):
        change_credits(ledger, "admin1", request_key="k1", **given)  # type: ignore[arg-type]
    assert (ledger.head("alice").balance, ledger.head("bob").balance) == (500, 0)


def test_another_admin_may_use_the_same_key() -> None:
    ledger = MemoryLedger()
    for admin in ("admin1", "admin2"):
        change_credits(
            ledger, admin, "alice", amount=5, reason="goodwill", adjust=False, request_key="k1"
        )
    assert ledger.head("alice").balance == 10


def test_changes_without_a_key_each_apply() -> None:
    ledger = MemoryLedger()
    for _ in range(2):
        change_credits(ledger, "admin1", "alice", amount=5, reason="goodwill", adjust=False)
    assert ledger.head("alice").balance == 10


def test_a_negative_adjustment_corrects_but_cannot_make_a_debt() -> None:
    ledger = MemoryLedger()
    change_credits(ledger, "admin1", "alice", amount=100, reason="grant", adjust=False)
    fixed = change_credits(ledger, "admin1", "alice", amount=-40, reason="typo", adjust=True)
    assert (fixed.entry.type, fixed.entry.balance_after) == (EntryType.ADJUSTMENT, 60)
    with pytest.raises(InsufficientCredits):
        change_credits(ledger, "admin1", "alice", amount=-61, reason="too much", adjust=True)
    assert ledger.head("alice").balance == 60


@pytest.mark.parametrize(
    ("amount", "reason", "adjust", "named"),
    [
        (0, "r", True, "amount"),
        (-5, "r", False, "amount"),
        (100_000_001, "r", False, "amount"),
        (5, "   ", False, "reason"),
        (5, "x" * 501, False, "reason"),
    ],
)
def test_bad_admin_input_is_refused_naming_the_field(
    amount: int, reason: str, adjust: bool, named: str
) -> None:
    ledger = MemoryLedger()
    with pytest.raises(InvalidRequest) as refused:
        change_credits(ledger, "admin1", "alice", amount=amount, reason=reason, adjust=adjust)
    assert list(refused.value.details["fields"]) == [named]
    assert ledger.entries == []


def test_admin_keys_of_users_whose_ids_contain_colons_do_not_collide() -> None:
    ledger = MemoryLedger()
    change_credits(
        ledger, "admin1", "org", amount=500, reason="goodwill", adjust=False, request_key="acme:k"
    )
    other = change_credits(
        ledger, "admin1", "org:acme", amount=700, reason="goodwill", adjust=False, request_key="k"
    )
    assert (other.replayed, other.entry.user_id) == (False, "org:acme")
    assert (ledger.head("org").balance, ledger.head("org:acme").balance) == (500, 700)


def test_a_retry_of_a_change_made_under_the_old_key_format_replays_it() -> None:
    ledger = MemoryLedger()
    old_key = "admin:grant:admin1:alice:k1"  # how keys were joined before issue 22.5
    posting = Posting(EntryType.GRANT, 500, description="goodwill", actor="admin1")
    first = ledger.append("alice", [posting], effect_key=old_key)
    again = change_credits(
        ledger, "admin1", "alice", amount=500, reason="goodwill", adjust=False, request_key="k1"
    )
    assert (again.replayed, again.entry.id) == (True, first.entries[-1].id)
    assert ledger.head("alice").balance == 500
