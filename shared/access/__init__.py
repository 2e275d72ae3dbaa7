"""Access: who is calling, Idempotency-Key semantics and per-user rate limits."""
