// Admins (custom claim admin: true): find an account, read its ledger, grant or adjust credits
// with a reason. The service checks the claim on every call; hiding this view is only courtesy.
import {$, busy, clearError, ledgerRows, showError} from './ui.js';
import {credits, parseCredits} from './format.js';
import {Pager} from './pager.js';

const PAGE_SIZE = 10;
let ctx;
let pager;
let current = null; // the account shown

export function init(context) {
  ctx = context;
  pager = new Pager({
    render: (entries) => $('admin-ledger').tBodies[0].replaceChildren(...ledgerRows(entries)),
    prev: $('admin-prev'),
    next: $('admin-next'),
    status: $('admin-page'),
    onError: (error) => showError($('admin-find-error'), error),
  });
  $('admin-find').addEventListener('submit', (event) => {
    event.preventDefault();
    busy(event.currentTarget.querySelector('button'), find);
  });
  $('admin-change').addEventListener('submit', (event) => {
    event.preventDefault();
    busy(event.currentTarget.querySelector('button[type=submit]'), change);
  });
}

async function find() {
  const input = $('admin-query');
  const problem = $('admin-find-error');
  const text = input.value.trim();
  clearError(problem, input);
  if (!text) {
    showError(problem, 'Enter an email address or a user id.', input);
    return;
  }
  try {
    await show(await ctx.billing.findAccount(text.includes('@') ? {email: text} : {user_id: text}));
    $('admin-account-title').focus();
  } catch (error) {
    $('admin-account').hidden = true;
    showError(problem, error.code === 'not_found' ? 'No account with that email or user id.'
                                                  : error, input);
  }
}

async function show(account) {
  current = account;
  $('admin-email').textContent = account.email || '–';
  $('admin-uid').textContent = account.user_id;
  $('admin-balance').textContent = credits(account.balance);
  $('admin-available').textContent = credits(account.available);
  $('admin-account').hidden = false;
  await pager.start(ctx.billing.accountTransactions({user_id: account.user_id, limit: PAGE_SIZE}));
}

async function change() {
  const form = $('admin-change');
  const problem = $('admin-change-error');
  const amountInput = $('admin-amount');
  const kind = form.kind.value;
  clearError(problem, amountInput);
  clearError(problem, form.reason);
  $('admin-change-result').textContent = '';
  const amount = parseCredits(amountInput.value, {signed: kind === 'adjust'});
  if (amount === null || amount === 0) {
    const hint = kind === 'grant' ? 'a positive number of credits' : 'a number of credits, + or −';
    showError(problem, `Enter ${hint}, e.g. 25 or 12.50.`, amountInput);
    amountInput.focus();
    return;
  }
  const reason = form.reason.value.trim();
  if (!reason) {
    showError(problem, 'Say why: the reason is kept in the ledger.', form.reason);
    form.reason.focus();
    return;
  }
  const body = {user_id: current.user_id, amount, reason};
  try {
    const entry = kind === 'grant'
      ? await ctx.billing.grantCredits(body)
      : await ctx.billing.adjustCredits(body);
    const message = `${kind === 'grant' ? 'Granted' : 'Adjusted'} ${credits(entry.amount)} ` +
      `credits; balance now ${credits(entry.balance_after)}.`;
    $('admin-change-result').textContent = message;
    form.reset();
    await show(await ctx.billing.findAccount({user_id: current.user_id}));
    if (current.user_id === ctx.user.uid) await ctx.changed();
  } catch (error) {
    showError(problem, error);
  }
}
