"""Ids claimed across accounts, decided by the pure ledger planner (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.ledger.effects import EffectRequest, IdClaim, IdClaimed, claims_to_make, plan_effects
from shared.ledger.entries import AccountHead, EntryType, LedgerEntry, Posting

NOW = datetime(2026, 1, 1, tzinfo=UTC)
FUNDED = AccountHead("bob", seq=1, balance=1_000, totals={EntryType.GRANT: 1_000})


def usage(key: str, amount: int = 10, account: str = "bob") -> EffectRequest:
    claim = IdClaim(key, account, amount, "metering@p")
    return EffectRequest([Posting(EntryType.USAGE, -amount)], key, claim)


def test_an_id_claimed_for_another_account_is_refused_before_its_entries_are_seen() -> None:
    theirs = IdClaim("usage:chat:e1", "alice", 10, "metering@p")
    # Never read: the claim refuses first.
    alices_entries: dict[str, list[LedgerEntry]] = {"usage:chat:e1": []}
    outcomes, fresh = plan_effects(FUNDED, [usage("usage:chat:e1")], alices_entries, NOW,
                                   {theirs.key: theirs})  # fmt: skip
    assert fresh == []
    assert isinstance(outcomes[0].error, IdClaimed)
    assert outcomes[0].error.details == {}


def test_an_id_claimed_for_the_same_use_goes_on_and_only_new_ids_are_claimed() -> None:
    mine = usage("usage:chat:e1").claim
    assert mine is not None
    requests = [usage("usage:chat:e1"), usage("usage:chat:e2"), usage("usage:chat:e3", 5_000)]
    outcomes, fresh = plan_effects(FUNDED, requests, {}, NOW, {mine.key: mine})
    assert len(fresh) == 2  # e3 is refused for credits and claims nothing
    assert [c.key for c in claims_to_make(requests, outcomes, {mine.key: mine})] == [
        "usage:chat:e2"
    ]


def test_another_amount_caller_or_terms_is_another_use() -> None:
    claim = IdClaim("k", "bob", 10, "a", "grant")
    assert claim.same_use(IdClaim("k", "bob", 10, "a", "grant"))
    for other in (
        IdClaim("k", "bob", 11, "a", "grant"),
        IdClaim("k", "bob", 10, "b", "grant"),
        IdClaim("k", "bob", 10, "a", "adjust"),
        IdClaim("k", "eve", 10, "a", "grant"),
    ):
        assert not claim.same_use(other)
