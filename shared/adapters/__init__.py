"""Adapters from the domain's ports to Firestore, Firebase Auth, Stripe and Razorpay."""
