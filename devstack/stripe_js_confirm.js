// Served after localstripe's Stripe.js stand-in (devstack/localstripe_server.py), which cannot
// create a PaymentMethod from its card Element and always opens its 3-D Secure box when confirming.
// This completes the two calls a page makes to pay a PaymentIntent, with Stripe.js's signatures
// and answers, so the page's code is the code it runs against https://js.stripe.com/v3/:
//   stripe.createPaymentMethod({type: 'card', card: element}) -> {paymentMethod} | {error}
//   stripe.confirmCardPayment(clientSecret, {payment_method: {card: element}} | {payment_method: id})
//     -> {paymentIntent} | {error}, 3-D Secure handled in between (localstripe's box).
// It uses what this script's first part defines: LOCALSTRIPE_BASE_API, openModal, Element.
(function () {
  const localStripe = Stripe;

  function form(fields) {
    const body = new URLSearchParams();
    const add = (prefix, value) => {
      if (value === undefined || value === null) return;
      if (typeof value === 'object') {
        Object.keys(value).forEach(k => add(prefix ? `${prefix}[${k}]` : k, value[k]));
      } else {
        body.append(prefix, String(value));
      }
    };
    add('', fields);
    return body;
  }

  async function post(path, apiKey, fields) {
    // Form-encoded, as Stripe.js sends: a simple request, no CORS preflight.
    const response = await fetch(`${LOCALSTRIPE_BASE_API}${path}`, {
      method: 'POST',
      body: form({...fields, key: apiKey, payment_user_agent: 'localstripe'}),
    });
    const body = await response.json().catch(() => ({}));
    if (response.status !== 200 || body.error) {
      return {error: body.error || {message: `Stripe answered ${response.status}`}};
    }
    return {body};
  }

  function cardOf(element) {
    if (!(element instanceof Element) || !element.value) {
      return null;
    }
    const {number, exp_month, exp_year, cvc} = element.value.card;
    return {number: number.replace(/\s+/g, ''), exp_month, exp_year, cvc};
  }

  async function createPaymentMethod(apiKey, data) {
    const card = cardOf(data && data.card);
    if (!card) {
      return {error: {type: 'validation_error', code: 'incomplete_number',
                      message: 'Your card number is incomplete.'}};
    }
    const created = await post('/v1/payment_methods', apiKey, {
      type: 'card', card, billing_details: data.billing_details,
    });
    return created.error ? created : {paymentMethod: created.body};
  }

  async function authenticate(apiKey, intentId, clientSecret) {
    const success = await openModal('3D Secure\nDo you want to confirm or cancel?',
                                    'Complete authentication', 'Fail authentication');
    const done = await post(`/v1/payment_intents/${intentId}/_authenticate?success=${success}`,
                            apiKey, {client_secret: clientSecret});
    if (done.error) return done;
    const intent = done.body;
    if (intent.status === 'requires_payment_method') {
      // Stripe.js reports a failed authentication as an error carrying the PaymentIntent.
      const error = intent.last_payment_error || {message: 'Authentication failed.'};
      return {error: {type: 'card_error', ...error, payment_intent: intent}};
    }
    return {paymentIntent: intent};
  }

  async function confirmCardPayment(apiKey, clientSecret, data) {
    const match = /^(pi_\w+)_secret_/.exec(clientSecret || '');
    if (!match) {
      return {error: {type: 'invalid_request_error', message: 'Invalid client secret.'}};
    }
    const intentId = match[1];
    let paymentMethod = data && data.payment_method;
    if (paymentMethod && typeof paymentMethod === 'object') {
      const created = await createPaymentMethod(apiKey, paymentMethod);
      if (created.error) return created;
      paymentMethod = created.paymentMethod.id;
    }
    const confirmed = await post(`/v1/payment_intents/${intentId}/confirm`, apiKey, {
      client_secret: clientSecret, payment_method: paymentMethod,
    });
    if (confirmed.error) return confirmed;
    const intent = confirmed.body;
    if (intent.status === 'requires_action') {
      return authenticate(apiKey, intentId, clientSecret);
    }
    return {paymentIntent: intent};
  }

  Stripe = (apiKey) => {
    const stripe = localStripe(apiKey);
    stripe.createPaymentMethod = (data) => createPaymentMethod(apiKey, data);
    stripe.confirmCardPayment = (clientSecret, data) =>
      confirmCardPayment(apiKey, clientSecret, data);
    return stripe;
  };
})();
