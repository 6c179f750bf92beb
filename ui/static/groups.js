// Grouping: what failing URLs have in common. Rows are grouped by host, by
// error (the HTTP code or the error kind) or by the value of one label key;
// each group counts its rows and its failing rows. Groups with the most
// failing rows come first, then the largest; each can be expanded.
import { hostOf } from './format.js';
import { isFailing } from './store.js';

const hosts = new Map(); // one shared string per host

function hostKey(r) {
  if (!r.host) {
    const h = hostOf(r.url);
    let s = hosts.get(h);
    if (s === undefined) { s = h; if (hosts.size < 50000) hosts.set(h, h); }
    r.host = s;
  }
  return r.host;
}

// errorKey names what a row answered: "HTTP 503", "REFUSED", or its state
// when it is not failing.
export function errorKey(r) {
  if (r.state === 'unreachable' || (r.error && !r.code)) return r.kind ? r.kind.toUpperCase() : 'NO ANSWER';
  if (isFailing(r.state)) return 'HTTP ' + r.code;
  return r.state;
}

// keyFn returns how rows are grouped for a grouping name: "host", "error"
// or "label:KEY"; null for no grouping.
export function keyFn(by) {
  if (by === 'host') return hostKey;
  if (by === 'error') return errorKey;
  if (by && by.startsWith('label:')) {
    const k = by.slice(6);
    return (r) => (r.labels[k] !== undefined ? k + '=' + r.labels[k] : 'no ' + k);
  }
  return null;
}

// Group is one header row of the grouped table.
export class Group {
  constructor(key) { this.key = key; this.rows = []; this.failing = 0; this.group = true; }
}

// group splits view (already sorted and filtered) into groups, in order.
export function group(view, by) {
  const key = keyFn(by);
  const m = new Map();
  for (const r of view) {
    const k = key(r);
    let g = m.get(k);
    if (!g) { g = new Group(k); m.set(k, g); }
    g.rows.push(r);
    if (isFailing(r.state)) g.failing++;
  }
  const out = Array.from(m.values());
  out.sort((a, b) => (b.failing - a.failing) || (b.rows.length - a.rows.length) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return out;
}

// flatten lists the table's items: each group's header, then its rows when
// the group is open.
export function flatten(groups, open) {
  const items = [];
  for (const g of groups) {
    items.push(g);
    g.open = open.has(g.key);
    if (g.open) for (const r of g.rows) items.push(r);
  }
  return items;
}

// labelKeys lists the label keys and key=value pairs present in rows (at
// most max pairs), sorted.
export function labelPairs(rows, max) {
  const keys = new Set(), pairs = new Map();
  const seen = new Set();
  for (const r of rows) {
    if (!r.labelsKey || seen.has(r.labelsKey)) continue;
    seen.add(r.labelsKey);
    for (const k of Object.keys(r.labels)) {
      keys.add(k);
      if (pairs.size < max) pairs.set(k + '=' + r.labels[k], true);
    }
  }
  return { keys: Array.from(keys).sort(), pairs: Array.from(pairs.keys()).sort() };
}
