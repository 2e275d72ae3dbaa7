// Balance, held and available credits, and the low-balance alert threshold.
import {$, announce, busy, clearError, showError} from './ui.js';
import {credits, parseCredits} from './format.js';

let billing;

export function init(ctx) {
  billing = ctx.billing;
  const form = $('threshold-form');
  const input = $('threshold');
  const problem = $('threshold-error');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearError(problem, input);
    const threshold = parseCredits(input.value);
    if (threshold === null) {
      showError(problem, 'Enter a number of credits, e.g. 50 or 12.50.', input);
      input.focus();
      return;
    }
    busy(form.querySelector('button'), async () => {
      try {
        show(await billing.updateAccount({low_balance_threshold: threshold}));
        announce(`Low-balance alert set to ${credits(threshold)} credits`);
      } catch (error) {
        showError(problem, error, input);
      }
    });
  });
}

function show(account) {
  $('balance').textContent = credits(account.balance);
  $('held').textContent = credits(account.held);
  $('available').textContent = credits(account.available);
  $('threshold').value = credits(account.low_balance_threshold).replace(/,/g, '');
  const note = $('low-balance-note');
  note.hidden = account.available >= account.low_balance_threshold;
  note.textContent = 'Your available credits are below your alert threshold: buy credits below.';
}

export async function refresh() {
  try {
    show(await billing.account());
  } catch (error) {
    showError($('threshold-error'), error);
  }
}
