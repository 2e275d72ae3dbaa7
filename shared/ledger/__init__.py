"""The credit ledger: append-only entries, posting, effects, grants, expiry, invariants."""
