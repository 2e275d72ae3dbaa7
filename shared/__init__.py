"""The billing domain, in business areas; each area imports only the kernel and the areas below it.

Kernel (this folder): ``errors``, ``ids``, ``money``, ``log``, ``config``, ``bootstrap`` (the one
place where adapters are wired to the domain's ports).

Areas, lowest first:
- ``access``: who is calling, Idempotency-Key semantics, rate limits;
- ``ledger``: entries, posting, effects and id claims, invariants, grants, expiry, the store port;
- ``accounts``: balances, history, admin credits, low-balance alerts, devices;
- ``usage``: usage charges and holds of other services;
- ``payments``: card payments (seed 004), the provider ports, refunds, Stripe events, disputes,
  the outbox;
- ``purchases``: credit orders, pricing, packages, checkout, crediting and clawbacks, Razorpay
  events, refunds of credit orders, reconciliation;
- ``invoices``: GST tax invoices and credit notes of credit purchases, buyers' billing details.

``adapters`` (flat) implement the ports over Firestore, Stripe, Razorpay and Firebase. Pure
modules import no SDK.
"""
