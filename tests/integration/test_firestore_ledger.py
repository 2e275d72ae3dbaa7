"""The ledger on the Firestore emulator: append, head, history, replays, and the race rule."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.credits import account_json
from shared.adapters.firestore_ledger import FirestoreLedger
from shared.adapters.firestore_ledger_codec import LEGACY_HEADS, USER_CREDITS
from shared.adapters.firestore_orders import ORDERS
from shared.errors import InsufficientCredits, LedgerContention
from shared.ledger.entries import EntryType, Posting
from shared.ledger.grants import GrantCategory, GrantTerms
from shared.ledger.invariants import invariant_violations
from shared.purchases.orders import OrderStatus, OrderStatusChanged

pytestmark = pytest.mark.stack


@pytest.fixture
def ledger(firestore_client: Any) -> FirestoreLedger:
    return FirestoreLedger(firestore_client)


def grant(amount: int) -> list[Posting]:
    return [Posting(EntryType.GRANT, amount, actor="test")]


def spend(amount: int) -> list[Posting]:
    return [Posting(EntryType.USAGE, -amount, service="test")]


def test_append_then_read_head_and_history_newest_first(ledger: FirestoreLedger) -> None:
    assert ledger.head("alice").seq == 0
    ledger.append("alice", grant(100))
    ledger.append("alice", spend(30))
    ledger.append("alice", spend(20))

    head = ledger.head("alice")
    assert (head.seq, head.balance) == (3, 50)

    first_page = ledger.history("alice", limit=2)
    assert [e.seq for e in first_page.entries] == [3, 2]
    assert first_page.next_cursor is not None
    second_page = ledger.history("alice", limit=2, cursor=first_page.next_cursor)
    assert [e.seq for e in second_page.entries] == [1]
    assert second_page.next_cursor is None

    only_usage = ledger.history("alice", limit=10, entry_type=EntryType.USAGE)
    assert [e.amount for e in only_usage.entries] == [-20, -30]


def test_accounts_are_separate(ledger: FirestoreLedger) -> None:
    ledger.append("alice", grant(100))
    ledger.append("bob", grant(7))
    assert ledger.head("alice").balance == 100
    assert ledger.head("bob").balance == 7
    assert [e.seq for e in ledger.entries("bob")] == [1]


def test_an_effect_is_applied_once(ledger: FirestoreLedger) -> None:
    first = ledger.append("alice", grant(100), effect_key="grant:once")
    again = ledger.append("alice", grant(100), effect_key="grant:once")
    assert not first.replayed
    assert again.replayed
    assert [e.id for e in again.entries] == [e.id for e in first.entries]
    assert ledger.head("alice").balance == 100


def test_side_writes_ride_in_the_commit(ledger: FirestoreLedger, firestore_client: Any) -> None:
    order_paid = OrderStatusChanged("o1", OrderStatus.PAID)
    ledger.append("alice", grant(5), side_writes=[order_paid])
    order = firestore_client.collection(ORDERS).document("o1").get()
    assert order.to_dict() == {"status": "paid"}


def test_insufficient_credits_writes_nothing(ledger: FirestoreLedger) -> None:
    ledger.append("alice", grant(10))
    with pytest.raises(InsufficientCredits):
        ledger.append("alice", spend(11))
    assert [e.seq for e in ledger.entries("alice")] == [1]


def test_losing_every_race_ends_in_a_retryable_error(
    ledger: FirestoreLedger, firestore_client: Any
) -> None:
    ledger.append("alice", grant(10))
    # A head pointer that lags (as after a writer that won the race) makes the first try collide;
    # with one attempt allowed, the append must give up with the retryable 503, writing nothing.
    firestore_client.collection(USER_CREDITS).document("alice").set(
        {"ledger_head": True, "seq": 0, "balance": 0, "held": 0}
    )
    impatient = FirestoreLedger(firestore_client, max_attempts=1)
    with pytest.raises(LedgerContention) as error:
        impatient.append("alice", grant(1))
    assert error.value.status == 503
    assert impatient.conflicts == 1
    # With retries allowed, the same append re-reads the true head and lands after it.
    patient = FirestoreLedger(firestore_client, max_attempts=3)
    assert patient.append("alice", grant(1)).head.seq == 2


def assert_sound(ledger: FirestoreLedger, user_id: str) -> list[Any]:
    entries = ledger.entries(user_id)
    assert invariant_violations(entries) == []
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert sum(e.amount for e in entries) == entries[-1].balance_after
    return entries


def test_fifty_concurrent_spends_never_overspend(
    ledger: FirestoreLedger, firestore_client: Any
) -> None:
    ledger.append("alice", grant(100))
    # One ledger object per writer: no shared local lock, so they race as separate instances do
    # and only the guarded create keeps them honest.
    instances = [FirestoreLedger(firestore_client) for _ in range(50)]

    def spend_ten(writer: int) -> str:
        try:
            instances[writer].append("alice", spend(10))
        except InsufficientCredits:
            return "insufficient"
        return "spent"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(spend_ten, range(50)))

    assert outcomes.count("spent") == 10
    assert outcomes.count("insufficient") == 40
    entries = assert_sound(ledger, "alice")
    assert entries[-1].balance_after == 0
    assert len(entries) == 11
    assert sum(i.conflicts for i in instances) > 0, "the writers never actually raced"


def test_two_hundred_concurrent_grants_all_land(ledger: FirestoreLedger) -> None:
    # One ledger serving 200 concurrent requests, as one instance would.
    with ThreadPoolExecutor(max_workers=200) as pool:
        results = list(pool.map(lambda _: ledger.append("alice", grant(1)), range(200)))

    assert len(results) == 200
    entries = assert_sound(ledger, "alice")
    assert len(entries) == 200
    assert entries[-1].balance_after == 200


def test_concurrent_grants_from_several_instances_all_land(firestore_client: Any) -> None:
    instances = [FirestoreLedger(firestore_client) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=40) as pool:
        list(pool.map(lambda n: instances[n % 4].append("alice", grant(1)), range(200)))
    entries = assert_sound(FirestoreLedger(firestore_client), "alice")
    assert entries[-1].balance_after == 200


def test_a_batch_of_effects_lands_in_one_commit_and_replays(ledger: FirestoreLedger) -> None:
    from shared.ledger.effects import EffectRequest

    ledger.append("alice", grant(30))
    requests = [EffectRequest(spend(10), f"usage:{n}") for n in range(5)]
    outcomes = ledger.append_batch("alice", requests)
    assert [bool(o.result) for o in outcomes] == [True, True, True, False, False]
    assert all(o.error is not None for o in outcomes[3:])
    assert_sound(ledger, "alice")
    again = ledger.append_batch("alice", requests[:3])
    assert all(o.result is not None and o.result.replayed for o in again)
    assert ledger.head("alice").balance == 0


def test_racing_batches_with_shared_events_apply_each_event_once(
    firestore_client: Any,
) -> None:
    from shared.ledger.effects import EffectRequest

    FirestoreLedger(firestore_client).append("alice", grant(1000))
    instances = [FirestoreLedger(firestore_client) for _ in range(6)]
    # Six "instances" each send an overlapping window of the same 20 events.
    windows = [[EffectRequest(spend(1), f"usage:{n}") for n in range(k, k + 15)]
               for k in range(0, 6)]  # fmt: skip
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda i: instances[i].append_batch("alice", windows[i]), range(6)))
    entries = assert_sound(FirestoreLedger(firestore_client), "alice")
    keys = [e.effect_key for e in entries if e.effect_key]
    assert len(keys) == len(set(keys)) == 20
    assert entries[-1].balance_after == 1000 - 20


def test_an_account_from_before_running_totals_is_summed_once_then_carried(
    ledger: FirestoreLedger, firestore_client: Any
) -> None:
    """Entries and head pointers written before totals existed: read by aggregation, then the
    next entry starts carrying the right totals (not sums restarted at zero)."""
    from shared.accounts.credit_accounts import read_account
    from shared.adapters.firestore_accounts import FirestoreAccounts
    from shared.adapters.firestore_ledger_codec import TRANSACTIONS, entry_to_document
    from shared.ledger.entries import AccountHead
    from shared.ledger.posting import post

    uid = f"legacy-{uuid.uuid4().hex[:8]}"
    # Written as the older version wrote them: no totals, no grants. (Not by deleting fields:
    # the emulator keeps fields that an update deletes or a set leaves out.)
    now = datetime.now(UTC)
    entries = post(AccountHead(uid), grant(500), now)
    entries += post(entries[-1].head, spend(120), now)
    for entry in entries:
        older = entry_to_document(entry)
        del older["totals_after"], older["grants_after"], older["draws"]
        firestore_client.collection(TRANSACTIONS).document(entry.id).create(older)
    firestore_client.collection(LEGACY_HEADS).document(uid).create(
        {"seq": 2, "balance": 380, "held": 0, "updated_at": now}
    )
    assert ledger.head(uid).totals is None
    accounts = FirestoreAccounts(firestore_client)

    legacy = account_json(read_account(accounts, uid))
    assert (legacy["total_granted"], legacy["total_used"]) == (500, 120)

    ledger.append(uid, spend(30))
    carried = ledger.head(uid)
    assert carried.totals == {EntryType.GRANT: 500, EntryType.USAGE: -150}
    # The commit moved the pointer into the account document and deleted the legacy one.
    assert firestore_client.collection(USER_CREDITS).document(uid).get().get("totals") == {
        "grant": 500,
        "usage": -150,
    }
    assert not firestore_client.collection(LEGACY_HEADS).document(uid).get().exists
    account = account_json(read_account(accounts, uid))
    assert (account["balance"], account["total_granted"], account["total_used"]) == (350, 500, 150)
    assert_sound(ledger, uid)


def test_an_account_from_before_grants_holds_one_paid_grant_then_carries_grants(
    ledger: FirestoreLedger, firestore_client: Any
) -> None:
    """Entries and head pointers written before grants existed: what is available is one paid
    grant, spent after newer grants; the next entry writes the grants out."""
    from shared.adapters.firestore_ledger_codec import TRANSACTIONS, entry_to_document
    from shared.ledger.entries import AccountHead
    from shared.ledger.grants import PAID, PROMOTIONAL
    from shared.ledger.posting import post

    uid = f"pre-grants-{uuid.uuid4().hex[:8]}"
    # Written as the older version wrote them (the emulator cannot delete fields).
    now = datetime.now(UTC)
    entries = post(AccountHead(uid), grant(500), now)
    entries += post(entries[-1].head, spend(120), now)
    for entry in entries:
        older = entry_to_document(entry)
        del older["grants_after"], older["draws"]
        firestore_client.collection(TRANSACTIONS).document(entry.id).create(older)
    head = entries[-1]
    firestore_client.collection(LEGACY_HEADS).document(uid).create(
        {"seq": head.seq, "balance": head.balance_after, "held": 0, "totals": {"grant": 500,
         "usage": -120}, "updated_at": now}
    )  # fmt: skip
    assert [(g.terms, g.remaining) for g in ledger.head(uid).open_grants()] == [(PAID, 380)]

    ledger.append(uid, [Posting(EntryType.GRANT, 50, grant=PROMOTIONAL)])
    ledger.append(uid, spend(70))
    after = ledger.head(uid)
    assert [(g.terms, g.remaining) for g in after.open_grants()] == [(PAID, 360)]
    assert_sound(ledger, uid)


def test_the_expiry_job_finds_due_accounts_and_writes_each_expiry_once(
    firestore_client: Any,
) -> None:
    from datetime import UTC, datetime, timedelta

    from shared.ledger.expiry import expire_due_grants
    from shared.ledger.grants import GrantCategory, GrantTerms

    start = datetime.now(UTC).replace(microsecond=0)
    now = [start]
    ledger = FirestoreLedger(firestore_client, clock=lambda: now[0])
    soon = GrantTerms(GrantCategory.PROMOTIONAL, expires_at=start + timedelta(seconds=10))
    uids = [f"expiring-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    for uid in uids:
        ledger.append(uid, [Posting(EntryType.GRANT, 40, grant=soon)])
        ledger.append(uid, grant(5))
    assert ledger.accounts_due_to_expire(start, 10) == []
    now[0] = start + timedelta(seconds=10)
    assert sorted(ledger.accounts_due_to_expire(now[0], 10)) == sorted(uids)
    with ThreadPoolExecutor(4) as pool:  # two job runs at once write each expiry once
        list(pool.map(lambda _: expire_due_grants(ledger, now[0]), range(2)))
    for uid in uids:
        entries = assert_sound(ledger, uid)
        assert [e.type for e in entries] == [EntryType.GRANT, EntryType.GRANT, EntryType.EXPIRY]
        assert entries[-1].balance_after == 5
    assert ledger.accounts_due_to_expire(now[0], 10) == []


def test_two_first_reads_at_once_give_the_welcome_grant_once(
    ledger: FirestoreLedger, firestore_client: Any
) -> None:
    from shared.accounts.credit_accounts import WelcomeGrant, read_balance
    from shared.adapters.firestore_accounts import FirestoreAccounts

    uid = f"newcomer-{uuid.uuid4().hex[:8]}"
    accounts = FirestoreAccounts(firestore_client)
    welcome = WelcomeGrant(ledger, credits=250, expiry_days=14)
    with ThreadPoolExecutor(4) as pool:
        seen = list(pool.map(lambda _: read_balance(accounts, uid, welcome=welcome), range(4)))
    assert {b.balance for b in seen} == {250}
    assert [e.amount for e in assert_sound(ledger, uid)] == [250]


def test_a_given_back_clawback_returns_the_expiring_grant_that_paid_its_debt(
    ledger: FirestoreLedger, firestore_client: Any
) -> None:
    """The record of who paid a debt rides on the stored head and entries: a fresh store (the
    head read from its pointer, as another instance would) gives the credits back expiring."""
    soon = GrantTerms(GrantCategory.PROMOTIONAL, expires_at=datetime.now(UTC) + timedelta(days=10))
    clawback = [Posting(EntryType.REFUND, -500, allow_negative=True)]
    ledger.append("alice", clawback, effect_key="refund:r1")
    ledger.append("alice", [Posting(EntryType.GRANT, 200, grant=soon)], effect_key="promo")

    another = FirestoreLedger(firestore_client)
    give_back = Posting(EntryType.REFUND_REVERSAL, 500, returns="refund:r1")
    another.append("alice", [give_back], effect_key="refund-failed:r1")

    head = another.head("alice")
    assert head.balance == 200
    assert [(g.id, g.remaining) for g in head.open_grants()] == [(soon.id, 200)]
    assert head.debt_paid_by == ()
