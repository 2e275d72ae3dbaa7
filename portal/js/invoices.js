// Tax invoices and credit notes, newest first, each downloadable as PDF; the billing details
// used for the invoices of purchases paid after they are saved.
import {$, busy, clearError, el, showError} from './ui.js';
import {dateTime, label, money} from './format.js';
import {STATES} from './states.js';

const PAGE_SIZE = 10;
let billing;
let pages = null;

export function init(ctx) {
  billing = ctx.billing;
  $('invoices-more').addEventListener('click', () => more(false));
  const states = Object.entries(STATES).map(([code, name]) =>
    el('option', {value: code}, `${name} (${code})`));
  $('billing-state').append(...states);
  const form = $('billing-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('billing-save'), save);
  });
}

/** The PDF needs the user's token, so it is fetched by the SDK and handed over as a file. */
async function download(invoice, button) {
  await busy(button, async () => {
    try {
      const pdf = await billing.invoicePdf(invoice.invoice_id);
      const link = el('a', {href: URL.createObjectURL(pdf), download: `${invoice.invoice_id}.pdf`});
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    } catch (error) {
      showError($('invoices-error'), error);
    }
  });
}

function row(invoice) {
  const tax = invoice.cgst + invoice.sgst + invoice.igst;
  const button = el('button', {type: 'button', className: 'secondary link'}, 'Download PDF');
  button.setAttribute('aria-label', `Download ${invoice.number} as PDF`);
  button.addEventListener('click', () => download(invoice, button));
  return el('tr', {},
    el('td', {}, dateTime(invoice.issued_at)),
    el('td', {className: 'mono'}, invoice.number),
    el('td', {}, label(invoice.kind)),
    el('td', {className: 'num'}, money(tax, invoice.currency)),
    el('td', {className: 'num'}, money(invoice.total, invoice.currency)),
    el('td', {}, button));
}

async function more(first) {
  const body = $('invoices-table').tBodies[0];
  try {
    const {value: page, done} = await pages.next();
    const rows = done ? [] : page.data.map(row);
    if (first) body.replaceChildren(...rows);
    else body.append(...rows);
    $('invoices-more').hidden = done || !page.next_cursor;
    if (first && !rows.length) {
      body.replaceChildren(el('tr', {}, el('td', {colSpan: 6}, 'No invoices yet.')));
    }
  } catch (error) {
    showError($('invoices-error'), error);
  }
}

async function loadDetails() {
  const form = $('billing-form');
  try {
    const details = await billing.billingDetails();
    form.name.value = details.name;
    form.address.value = details.address;
    form.country.value = details.country;
    form.state.value = details.state || '';
    form.gstin.value = details.gstin || '';
  } catch (error) {
    if (error.status !== 404) showError($('billing-error'), error);  // 404: none saved yet
  }
}

async function save() {
  const form = $('billing-form');
  const problem = $('billing-error');
  for (const input of form.querySelectorAll('input')) clearError(problem, input);
  $('billing-result').textContent = '';
  const optional = (value) => value.trim() || null;
  try {
    const saved = await billing.saveBillingDetails({
      name: form.name.value,
      address: form.address.value,
      country: optional(form.country.value),
      state: optional(form.state.value),
      gstin: optional(form.gstin.value),
    });
    form.state.value = saved.state || '';
    form.gstin.value = saved.gstin || '';
    $('billing-result').textContent = 'Billing details saved: invoices of your next purchases use them.';
  } catch (error) {
    const [field] = Object.keys(error.fields || {});
    showError(problem, error, field && form.elements[field] ? form.elements[field] : null);
  }
}

export function refresh() {
  pages = billing.invoices({limit: PAGE_SIZE});
  return Promise.all([more(true), loadDetails()]);
}
