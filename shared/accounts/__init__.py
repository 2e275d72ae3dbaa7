"""Credit accounts: balances, history, admin credits, low-balance alerts, devices."""
