// Credit orders with their status, newest first; "More orders" fetches the next page.
import {$, el, showError} from './ui.js';
import {credits, dateTime, label, money} from './format.js';

const PAGE_SIZE = 5;
let billing;
let pages = null;

export function init(ctx) {
  billing = ctx.billing;
  $('orders-more').addEventListener('click', () => more(false));
}

function row(order) {
  return el('tr', {},
    el('td', {}, dateTime(order.created_at)),
    el('td', {className: 'mono'}, order.order_id),
    el('td', {}, label(order.provider)),
    el('td', {className: 'num'}, money(order.total, order.currency)),
    el('td', {className: 'num'}, credits(order.credits + order.bonus_credits)),
    el('td', {className: 'status'}, label(order.status)));
}

async function more(first) {
  const body = $('orders-table').tBodies[0];
  try {
    const {value: page, done} = await pages.next();
    const rows = done ? [] : page.data.map(row);
    if (first) body.replaceChildren(...rows);
    else body.append(...rows);
    $('orders-more').hidden = done || !page.next_cursor;
    if (first && !rows.length) {
      body.replaceChildren(el('tr', {}, el('td', {colSpan: 6}, 'No orders yet.')));
    }
  } catch (error) {
    showError($('orders-error'), error);
  }
}

export function refresh() {
  pages = billing.orders({limit: PAGE_SIZE});
  return more(true);
}
