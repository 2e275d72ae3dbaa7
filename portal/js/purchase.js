// Buy credits: packages with GST and bonus shown before paying, then Razorpay Checkout or a
// card through Stripe (3-D Secure included). Credits arrive when the service has the payment.
import {$, announce, busy, clearError, el, showError} from './ui.js';
import {credits, money} from './format.js';
import {razorpayCheckout, stripeCardForm} from './checkout.js';

let ctx;
let packages = [];
let cardForm = null;

export function init(context) {
  ctx = context;
  const form = $('buy-form');
  form.addEventListener('change', summarise);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('buy-button'), buy);
  });
  $('card-cancel').addEventListener('click', closeCardForm);
}

export async function refresh() {
  try {
    packages = await ctx.billing.packages();
  } catch (error) {
    showError($('buy-error'), error);
    return;
  }
  const list = $('packages');
  list.replaceChildren(...packages.map((p, i) => el('label', {className: 'package'},
    el('input', {type: 'radio', name: 'package', value: p.id, checked: i === 0}),
    el('span', {className: 'name'}, p.name),
    el('span', {className: 'price'}, money(p.total, p.currency)),
    el('span', {}, `${money(p.amount, p.currency)} + GST ${money(p.tax, p.currency)}`),
    el('span', {}, `${credits(p.credits)} credits`),
    el('span', {}, p.bonus_credits ? `+ ${credits(p.bonus_credits)} bonus credits` : 'No bonus'),
  )));
  summarise();
}

function chosen() {
  const form = $('buy-form');
  const id = form.querySelector('input[name=package]:checked')?.value;
  return {
    pkg: packages.find((p) => p.id === id),
    provider: form.querySelector('input[name=provider]:checked').value,
  };
}

function summarise() {
  const {pkg} = chosen();
  $('buy-summary').textContent = pkg
    ? `${pkg.name}: you pay ${money(pkg.total, pkg.currency)} (GST ${money(pkg.tax, pkg.currency)}` +
      ` included) and get ${credits(pkg.credits + pkg.bonus_credits)} credits` +
      (pkg.bonus_credits ? `, ${credits(pkg.bonus_credits)} of them bonus.` : '.')
    : '';
}

async function buy() {
  const {pkg, provider} = chosen();
  clearError($('buy-error'));
  $('buy-result').textContent = '';
  if (!pkg) {
    showError($('buy-error'), 'Choose a package.');
    return;
  }
  closeCardForm();
  try {
    const checkout = await ctx.billing.purchase({package_id: pkg.id, provider});
    if (checkout.provider === 'stripe') await payByCard(checkout);
    else await payWithRazorpay(checkout, pkg);
  } catch (error) {
    showError($('buy-error'), error);
  }
}

async function payWithRazorpay(checkout, pkg) {
  const result = await razorpayCheckout(ctx.config.razorpayCheckoutUrl, checkout, {
    description: `${pkg.name} credits`,
    email: ctx.user.email,
    onFailure: (error) => showError($('buy-error'), `Payment failed: ${error.description}`),
  });
  if (result === null) {
    if (!$('buy-error').textContent) announce('Payment cancelled; you were not charged.');
    return;
  }
  clearError($('buy-error'));
  const paid = await ctx.billing.verifyPurchase(result);
  done(`Payment received: ${credits(paid.credits_granted)} credits added.`);
}

async function payByCard(checkout) {
  const box = $('card-payment');
  cardForm = await stripeCardForm(ctx.config.stripeJsUrl, checkout.key_id, $('card-element'));
  $('card-pay').textContent = `Pay ${money(checkout.total, checkout.currency)}`;
  box.hidden = false;
  $('card-title').focus();
  $('card-pay').onclick = (event) => busy(event.currentTarget, () =>
    confirmCard(checkout).catch((error) => showError($('buy-error'), error)));
}

async function confirmCard(checkout) {
  clearError($('buy-error'));
  const {error, paymentIntent} = await cardForm.confirm(checkout.client_secret, ctx.user.email);
  if (error) {
    // A declined card or failed 3-D Secure: say why; another card may be tried at once.
    showError($('buy-error'), `Payment failed: ${error.message}`);
    return;
  }
  closeCardForm();
  if (paymentIntent.status !== 'succeeded') {
    $('buy-result').textContent = 'Your payment is processing; credits follow when it completes.';
    return;
  }
  $('buy-result').textContent = 'Payment received; adding your credits…';
  await settled(checkout.order_id);
}

/** Stripe grants the credits through its webhook: wait until the order says paid. */
async function settled(orderId) {
  for (let attempt = 0; attempt < 40; attempt += 1) {
    try {
      const order = await ctx.billing.orderStatus(orderId);
      if (order.status === 'paid') {
        return done(`Payment received: ${credits(order.credits + order.bonus_credits)} credits added.`);
      }
    } catch (error) {
      showError($('buy-error'), error);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  $('buy-result').textContent =
    'Payment received. Your credits will appear shortly; refresh the page to see them.';
}

function done(message) {
  $('buy-result').textContent = message; // a status region: read out where it is
  return ctx.changed();
}

function closeCardForm() {
  if (cardForm) cardForm.destroy();
  cardForm = null;
  $('card-payment').hidden = true;
}
