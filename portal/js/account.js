// Balance, held and available credits, and the low-balance alert threshold.
//
// The figures follow the account live: the SDK's onBalance listens to the user's own
// user_credits document in Firestore, so a charge by their backend, an admin's grant or a
// webhook's purchase shows without a reload. The API's account (read after sign-in and after
// each change made here) gives the threshold, and the figures until the listener has answered
// or whenever it cannot (Firestore unreachable, or the listener refused): of the two, the page
// shows whichever was written last.
import {$, announce, busy, clearError, showError} from './ui.js';
import {credits, parseCredits} from './format.js';

let billing;
let account = null; // the API's last answer: figures, threshold, updated_at
let live = null; // the listener's last balance, while it works

export function init(ctx) {
  billing = ctx.billing;
  billing.onBalance(
    (balance) => {
      live = balance;
      render();
    },
    (error) => {
      // Nothing on the page: the API's figures stay, refreshed after each change made here.
      console.warn('Live balance unavailable; showing the last figures read:', error.code || error);
      live = null;
      render();
    },
  );
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

function show(answer) {
  account = answer;
  $('threshold').value = credits(account.low_balance_threshold).replace(/,/g, '');
  render();
}

/** The live figures when they are at least as new as the API's (by updated_at), else the API's. */
function figures() {
  const read = account && account.updated_at ? Date.parse(account.updated_at) : null;
  const heard = live && live.updatedAt ? live.updatedAt.getTime() : null;
  if (heard !== null && (read === null || heard >= read)) return live;
  return account;
}

function render() {
  const shown = figures();
  if (!shown) return;
  $('balance').textContent = credits(shown.balance);
  $('held').textContent = credits(shown.held);
  $('available').textContent = credits(shown.available);
  const note = $('low-balance-note');
  note.hidden = !account || shown.available >= account.low_balance_threshold;
  note.textContent = 'Your available credits are below your alert threshold: buy credits below.';
}

export async function refresh() {
  try {
    show(await billing.account());
  } catch (error) {
    showError($('threshold-error'), error);
  }
}
