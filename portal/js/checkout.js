// The payment providers' own browser scripts: Razorpay Checkout and Stripe.js. Their addresses
// come from config.json (the providers' in production, the local sandboxes' stand-ins under
// `make dev`); the code that drives them is the same.

const scripts = new Map();

/** Load a provider's script once; resolves when its global is defined. */
export function loadScript(url) {
  if (!scripts.has(url)) {
    scripts.set(url, new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = url;
      script.onload = resolve;
      script.onerror = () => {
        scripts.delete(url);
        reject(new Error('The payment provider could not be reached. Try again.'));
      };
      document.head.appendChild(script);
    }));
  }
  return scripts.get(url);
}

/** Open Razorpay Checkout for a credit order; resolve with its handler's result, or null when
 * the customer closes it. Each failed attempt is reported to ``onFailure`` while it stays open. */
export async function razorpayCheckout(url, checkout, {description, email, onFailure}) {
  await loadScript(url);
  return new Promise((resolve) => {
    const rzp = new window.Razorpay({
      key: checkout.key_id,
      order_id: checkout.provider_order_id,
      amount: checkout.total,
      currency: checkout.currency.toUpperCase(),
      name: 'Billing portal',
      description,
      prefill: {email},
      handler: (result) => resolve(result),
      modal: {ondismiss: () => resolve(null)},
    });
    rzp.on('payment.failed', (response) => onFailure(response.error));
    rzp.open();
  });
}

const stripes = new Map();

/** A card form of Stripe Elements mounted in ``container``, for one PaymentIntent. */
export async function stripeCardForm(url, publishableKey, container) {
  await loadScript(url);
  if (!stripes.has(publishableKey)) stripes.set(publishableKey, window.Stripe(publishableKey));
  const stripe = stripes.get(publishableKey);
  const card = stripe.elements().create('card');
  card.mount(container);
  return {
    /** Confirm the PaymentIntent with the card (3-D Secure included): {paymentIntent}|{error}. */
    confirm: (clientSecret, email) => stripe.confirmCardPayment(clientSecret, {
      payment_method: {card, billing_details: {email}},
    }),
    destroy: () => card.destroy(),
  };
}
