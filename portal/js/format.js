// Amounts are integers: credit units (100 units = 1 credit = ₹1 of value) and money in minor
// units (paise, cents). Only integer arithmetic turns them into text, and text into them.

const grouped = new Intl.NumberFormat('en-IN', {maximumFractionDigits: 0});
const SYMBOLS = {inr: '₹', usd: '$', eur: '€', gbp: '£', sgd: 'S$'};

function hundredths(value) {
  const negative = value < 0;
  const magnitude = Math.abs(value);
  const cents = magnitude % 100;
  const whole = (magnitude - cents) / 100;
  return `${negative ? '−' : ''}${grouped.format(whole)}.${String(cents).padStart(2, '0')}`;
}

/** "1,234.50" for 123450 credit units. */
export function credits(units) {
  return hundredths(units);
}

/** "+500.00" or "−25.00": a ledger entry's change. */
export function signedCredits(units) {
  return units > 0 ? `+${hundredths(units)}` : hundredths(units);
}

/** "₹590.00" for 59000 paise; "$20.00" for 2000 cents. */
export function money(minor, currency) {
  const code = String(currency || '').toLowerCase();
  const text = hundredths(minor);
  const symbol = SYMBOLS[code];
  if (!symbol) return `${code.toUpperCase()} ${text}`;
  return text.startsWith('−') ? `−${symbol}${text.slice(1)}` : `${symbol}${text}`;
}

const CREDITS_TEXT = /^\s*([+-]?)(\d{1,9})(?:\.(\d{1,2}))?\s*$/;

/** Credit units from what a person typed ("50", "12.5", "-25.00"), or null if it is not that. */
export function parseCredits(text, {signed = false} = {}) {
  const match = CREDITS_TEXT.exec(String(text).replace(/,/g, ''));
  if (!match || (match[1] && !signed)) return null;
  const units = Number(match[2]) * 100 + Number((match[3] || '').padEnd(2, '0'));
  return match[1] === '-' ? -units : units;
}

const when = new Intl.DateTimeFormat('en-IN', {dateStyle: 'medium', timeStyle: 'short'});

/** A timestamp of the API (RFC 3339, UTC) in the reader's own time zone. */
export function dateTime(iso) {
  return iso ? when.format(new Date(iso)) : '–';
}

/** "hold_capture" → "Hold capture". */
export function label(word) {
  const text = String(word || '').replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The start of a local calendar day (an <input type="date"> value) as an RFC 3339 instant. */
export function startOfDay(isoDate, plusDays = 0) {
  const [year, month, day] = isoDate.split('-').map(Number);
  return new Date(year, month - 1, day + plusDays).toISOString();
}
