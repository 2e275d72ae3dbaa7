"""Card payments (seed 004), the provider ports, refunds, Stripe events, disputes."""
