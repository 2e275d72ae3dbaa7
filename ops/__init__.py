"""Operations tooling: deploy plan and ledger audit. Not deployed with the functions."""
