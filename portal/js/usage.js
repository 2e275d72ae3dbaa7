// Credits used over the last 30 days, by day or by service: an inline SVG bar chart with the
// same figures as a table for screen readers and for reading exact values.
import {$, el, showError} from './ui.js';
import {credits} from './format.js';

const DAYS = 30;
const SVG = 'http://www.w3.org/2000/svg';
let billing;

export function init(ctx) {
  billing = ctx.billing;
  for (const input of document.querySelectorAll('input[name=usage-group]')) {
    input.addEventListener('change', refresh);
  }
}

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function chart(groups, groupBy) {
  const width = 640;
  const height = 220;
  const top = 20;
  const bottom = 40;
  const left = 8;
  const max = Math.max(...groups.map((g) => g.amount), 1);
  const slot = (width - left) / Math.max(groups.length, 1);
  const bars = groups.map((g, i) => {
    // Bar heights are drawing coordinates, not amounts: the amount is printed from the integer.
    const barHeight = Math.max(1, Math.round(((height - top - bottom) * g.amount) / max));
    const x = left + i * slot + slot * 0.15;
    const y = height - bottom - barHeight;
    const name = groupBy === 'day' ? g.key.slice(5) : g.key;
    return svg('g', {},
      svg('rect', {class: 'bar', x, y, width: slot * 0.7, height: barHeight},
          svg('title', {}, `${g.key}: ${credits(g.amount)} credits in ${g.count} uses`)),
      svg('text', {x: x + slot * 0.35, y: y - 4, 'text-anchor': 'middle'}, credits(g.amount)),
      svg('text', {x: x + slot * 0.35, y: height - bottom + 16, 'text-anchor': 'middle'}, name));
  });
  return svg('svg', {viewBox: `0 0 ${width} ${height}`, role: 'img',
                     'aria-labelledby': 'usage-caption'},
    svg('line', {class: 'axis', x1: left, x2: width, y1: height - bottom, y2: height - bottom}),
    ...bars);
}

function table(groups, groupBy) {
  return el('details', {},
    el('summary', {}, 'Show as a table'),
    el('table', {},
      el('thead', {}, el('tr', {},
        el('th', {scope: 'col'}, groupBy === 'day' ? 'Day (UTC)' : 'Service'),
        el('th', {scope: 'col', className: 'num'}, 'Credits used'),
        el('th', {scope: 'col', className: 'num'}, 'Uses'))),
      el('tbody', {}, ...groups.map((g) => el('tr', {},
        el('td', {}, g.key),
        el('td', {className: 'num'}, credits(g.amount)),
        el('td', {className: 'num'}, String(g.count)))))));
}

export async function refresh() {
  const groupBy = document.querySelector('input[name=usage-group]:checked').value;
  const since = new Date(Date.now() - DAYS * 24 * 3600 * 1000).toISOString();
  try {
    const summary = await billing.usage({group_by: groupBy, from: since});
    const groups = summary.data;
    $('usage-chart').replaceChildren(...(groups.length
      ? [chart(groups, groupBy), table(groups, groupBy)]
      : [el('p', {}, 'No usage in the last 30 days.')]));
    $('usage-caption').textContent = `${credits(summary.total)} credits used in the last ` +
      `${DAYS} days, by ${groupBy}.`;
  } catch (error) {
    showError($('usage-error'), error);
  }
}
