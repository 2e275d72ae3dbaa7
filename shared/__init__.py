"""The billing domain: money, pricing, the credit ledger, accounts, orders, payments.

Pure modules here import no SDK; adapters to Firestore, Stripe, Razorpay and Firebase Auth live in
``shared.adapters`` and are wired together in ``shared.bootstrap``.
"""
