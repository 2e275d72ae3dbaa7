"""Buying credits: orders, pricing, checkout, crediting, refunds, reconciliation."""
