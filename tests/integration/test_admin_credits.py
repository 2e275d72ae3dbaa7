"""Admin grants on the emulator when Firestore answers a commit that it did apply with an error."""

from __future__ import annotations

from typing import Any

import pytest
from google.api_core import exceptions as gexc

from shared.accounts.admin_credits import change_credits
from shared.adapters.firestore_ledger import FirestoreLedger
from shared.adapters.firestore_ledger_codec import TRANSACTIONS

pytestmark = pytest.mark.stack


class AppliedButAnsweredAlreadyExists:
    """A client whose first ledger commit is applied, then answered ``AlreadyExists``.

    That is what the Firestore client reports when it retries a commit after an internal error
    and the first try had in fact been applied: the retry's create of the entry finds it there.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self.faults_left = 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch(self) -> Any:
        batch = self._client.batch()
        commit = batch.commit

        def applied_then_refused(**kwargs: Any) -> Any:
            writes_entries = any(TRANSACTIONS in str(w) for w in batch._write_pbs)
            answer = commit(**kwargs)  # it empties the batch's writes
            if writes_entries and self.faults_left:
                self.faults_left -= 1
                raise gexc.AlreadyExists("the retried commit")  # type: ignore[no-untyped-call]
            return answer

        batch.commit = applied_then_refused
        return batch


def test_an_admin_grant_without_a_key_is_applied_once_when_its_commit_is_retried(
    firestore_client: Any,
) -> None:
    faulty: Any = AppliedButAnsweredAlreadyExists(firestore_client)
    ledger = FirestoreLedger(faulty, sleep=lambda _: None)

    change = change_credits(ledger, "admin-1", "grantee", amount=500, reason="goodwill",
                            adjust=False)  # fmt: skip

    assert faulty.faults_left == 0, "the fault was not triggered"
    assert [e.amount for e in FirestoreLedger(firestore_client).entries("grantee")] == [500]
    assert change.entry.balance_after == 500
