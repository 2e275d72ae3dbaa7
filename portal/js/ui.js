// Small DOM helpers shared by the portal's views.
import {BillingError} from '../sdk/billing-client.js';
import {credits, dateTime, label, signedCredits} from './format.js';

export const $ = (id) => document.getElementById(id);

/** Build an element: el('td', {className: 'num'}, 'text', child, ...). */
export function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

/** Tell screen-reader users what just happened, without moving their focus. */
export function announce(text) {
  const region = $('announcer');
  region.textContent = '';
  setTimeout(() => { region.textContent = text; }, 50);
}

/** What went wrong, in words a person can act on. */
export function errorText(error) {
  if (error instanceof BillingError) {
    switch (error.code) {
      case 'network_error':
        return 'Cannot reach the billing service. Check your connection and try again.';
      case 'unauthenticated':
        return 'Your session has ended. Sign in again.';
      case 'forbidden':
        return 'You are not allowed to do that.';
      case 'rate_limited':
        return 'Too many requests. Wait a moment and try again.';
      case 'invalid_request': {
        const fields = Object.entries(error.fields);
        if (fields.length) return fields.map(([name, problem]) => `${name}: ${problem}`).join('; ');
        return error.message;
      }
      default:
        return error.message;
    }
  }
  return (error && error.message) || 'Something went wrong. Try again.';
}

/** Show ``error`` in ``target`` (a role=alert element) and mark ``input`` invalid, if given. */
export function showError(target, error, input = null) {
  target.textContent = typeof error === 'string' ? error : errorText(error);
  if (input) input.setAttribute('aria-invalid', 'true');
}

export function clearError(target, input = null) {
  target.textContent = '';
  if (input) input.removeAttribute('aria-invalid');
}

/** Run ``action`` with ``button`` disabled, so a double click sends nothing twice. */
export async function busy(button, action) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await action();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/** Ledger entries as table rows (the user's history, and an admin's view of an account). */
export function ledgerRows(entries) {
  if (!entries.length) return [el('tr', {}, el('td', {colSpan: 5}, 'No entries to show.'))];
  return entries.map(entryRow);
}

function entryRow(entry) {
  return el('tr', {},
    el('td', {}, dateTime(entry.created_at)),
    el('td', {}, label(entry.type)),
    el('td', {}, entry.description || entry.service || ''),
    el('td', {className: `num ${entry.amount < 0 ? 'debit' : 'credit'}`},
       signedCredits(entry.amount)),
    el('td', {className: 'num'}, credits(entry.balance_after)));
}
