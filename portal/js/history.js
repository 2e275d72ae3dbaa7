// Transaction history: the ledger, newest first, filtered by type and dates, a page at a time.
import {$, clearError, ledgerRows, showError} from './ui.js';
import {startOfDay} from './format.js';
import {Pager} from './pager.js';

const PAGE_SIZE = 10;
let billing;
let pager;

export function init(ctx) {
  billing = ctx.billing;
  pager = new Pager({
    render: (entries) => $('history-table').tBodies[0].replaceChildren(...ledgerRows(entries)),
    prev: $('history-prev'),
    next: $('history-next'),
    status: $('history-page'),
    onError: (error) => showError($('history-error'), error),
  });
  $('history-filters').addEventListener('submit', (event) => {
    event.preventDefault();
    refresh();
  });
}

/** The query the filters ask for; dates are the reader's own calendar days, "to" included. */
function query() {
  const form = $('history-filters');
  const q = {limit: PAGE_SIZE};
  if (form.type.value) q.type = form.type.value;
  if (form.from.value) q.from = startOfDay(form.from.value);
  if (form.to.value) q.to = startOfDay(form.to.value, 1);
  return q;
}

export async function refresh() {
  const problem = $('history-error');
  const form = $('history-filters');
  clearError(problem, form.to);
  if (form.from.value && form.to.value && form.from.value > form.to.value) {
    showError(problem, 'The "To" date must not be before the "From" date.', form.to);
    return;
  }
  try {
    await pager.start(billing.transactions(query()));
  } catch (error) {
    showError(problem, error);
  }
}
