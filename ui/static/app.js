// SpO₂ dashboard: one WebSocket (stream.js), one compact in-memory model
// fed in time slices (store.js), one render per animation frame into a
// virtualised table (table.js) with optional grouping (groups.js) and a text
// index (search.js), and a details panel per URL (details.js). This file
// wires them to the page: filters, grouping, the fragment, the title and a
// read-only hook for tests. The socket goes to new URL('../ws', location.href).
import { Store, STATES } from './store.js';
import { Stream } from './stream.js';
import { Table } from './table.js';
import { Details } from './details.js';
import { labelPairs } from './groups.js';

const $ = (id) => document.getElementById(id);
const counts = { all: $('n-all') };
for (const s of STATES) counts[s] = $('n-' + s);
const filterBtns = Array.from(document.querySelectorAll('.filters [data-filter]'));
const qInput = $('q'), groupSel = $('group'), labelSel = $('label');

let table = null, stream = null, details = null;
// While a first snapshot loads, the table is repainted at most every
// LOADING_PAINT_MS once its first rows are up: painting after every slice
// of events would cost more than the events.
const LOADING_PAINT_MS = 100;
let loadingPaint = 0;
const store = new Store(() => {
  if (store.loading && table.items.length > 0) {
    if (!loadingPaint) loadingPaint = setTimeout(() => { loadingPaint = 0; table.schedule(); }, LOADING_PAINT_MS);
  } else table.schedule();
  updateTitle();
});

table = new Table(store, {
  scroller: $('scroller'), table: $('grid'), tbody: $('rows'),
  padTop: $('pad-top'), padBottom: $('pad-bottom'),
  padTopCell: $('pad-top').firstElementChild, padBottomCell: $('pad-bottom').firstElementChild,
  summary: $('summary'), empty: $('empty'), heldBtn: $('held'),
  loading: $('loading'), loadingText: $('loading-text'),
  filters: $('filters'), counts,
});
stream = new Stream(store, {
  connEl: $('conn'), connText: $('conn-text'), connWait: $('conn-wait'), retryBtn: $('retry'),
  authDlg: $('auth'), authForm: $('auth-form'), authErr: $('auth-error'), tokenInput: $('token'),
}, () => flushTitle());
details = new Details(store, stream, {
  dlg: $('details'), title: $('d-title'), close: $('d-close'), url: $('d-url'), fields: $('d-fields'),
  data: $('d-data'), history: $('d-history'), pause: $('d-pause'), silence: $('d-silence'),
  reason: $('d-reason'), remove: $('d-remove'), msg: $('d-msg'),
});
table.onOpen = (row) => details.open(row);

// Measurements for the test hook.
let snapshotMs = 0, syncRenderMs = 0, measureSync = false, firstFailingMs = 0, syncedAtMs = 0;
// After a sync, once the page is idle: the label menu and the text index.
const whenIdle = (fn) => (window.requestIdleCallback ? requestIdleCallback(fn, { timeout: 2000 }) : setTimeout(fn, 200));
store.onSynced = () => {
  stream.synced();
  measureSync = true;
  whenIdle(() => { refreshLabels(); table.index.warm(store.shown); });
};
table.onFrame = (t0, t1) => {
  flushTitle();
  if (details.isOpen) details.refresh();
  if (!firstFailingMs && table.items.length && !table.items[0].group && (table.items[0].state === 'unhealthy' || table.items[0].state === 'unreachable')) {
    firstFailingMs = t1; // ms since the page started loading
  }
  if (measureSync) { measureSync = false; syncRenderMs = t1 - t0; snapshotMs = t1 - stream.openedAt; syncedAtMs = t1; }
};

// The title is refreshed in every frame and, at most four times a second,
// from a timer too, so a background tab (where frames do not run) still
// tells the story.
let lastTitle = '', titleTimer = 0;
function updateTitle() { if (!titleTimer) titleTimer = setTimeout(flushTitle, 250); }
function flushTitle() {
  clearTimeout(titleTimer);
  titleTimer = 0;
  const failing = store.counts.unhealthy + store.counts.unreachable;
  let t = store.everSynced && failing > 0 ? '(' + failing + ' failing) SpO₂' : 'SpO₂';
  if (!store.everSynced && store.loading) t = 'Loading… SpO₂';
  if (stream && stream.state === 'reconnecting') t = '⟳ ' + t;
  if (t !== lastTitle) { document.title = t; lastTitle = t; }
}

// ---- filters ---------------------------------------------------------------
const f = table.filter;
function applyFilterUI() {
  for (const b of filterBtns) {
    const k = b.dataset.filter;
    const on = k === 'all' ? f.states.size === 0 : f.states.has(k);
    b.setAttribute('aria-pressed', on ? 'true' : 'false');
  }
  groupSel.value = table.groupBy;
  if (f.label && !Array.from(labelSel.options).some((o) => o.value === f.label)) addOption(labelSel, f.label, f.label);
  labelSel.value = f.label;
}

function filtersChanged(typing) {
  applyFilterUI();
  saveHash();
  table.filtersChanged(typing);
}

for (const b of filterBtns) {
  b.addEventListener('click', () => {
    const k = b.dataset.filter;
    if (k === 'all') f.states.clear();
    else if (f.states.has(k)) f.states.delete(k);
    else f.states.add(k);
    filtersChanged(false);
  });
}

function setQuery(q) { f.terms = q.toLowerCase().split(/\s+/).filter(Boolean); }
qInput.addEventListener('input', () => { setQuery(qInput.value); filtersChanged(true); });
qInput.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && qInput.value) { qInput.value = ''; setQuery(''); filtersChanged(false); e.preventDefault(); }
});
document.addEventListener('keydown', (e) => {
  if (e.key === '/' && !e.ctrlKey && !e.metaKey && !e.altKey) {
    const t = e.target;
    if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement || (t && t.isContentEditable)) return;
    if (document.querySelector('dialog[open]')) return;
    e.preventDefault();
    qInput.focus();
    qInput.select();
  }
});

groupSel.addEventListener('change', () => { table.groupBy = groupSel.value; table.open.clear(); filtersChanged(false); });
labelSel.addEventListener('change', () => { f.label = labelSel.value; filtersChanged(false); });
// Label choices come from the rows; they are gathered when the reader
// reaches for a menu, not on every event.
for (const ev of ['focus', 'pointerdown']) {
  labelSel.addEventListener(ev, refreshLabels);
  groupSel.addEventListener(ev, refreshLabels);
}

function addOption(sel, value, text) {
  const o = document.createElement('option');
  o.value = value; o.textContent = text;
  sel.appendChild(o);
}

let labelsAt = -1;
function refreshLabels() {
  const c = store.shown;
  if (labelsAt === c.version) return;
  labelsAt = c.version;
  const { keys, pairs } = labelPairs(c.map.values(), 500);
  const keepG = groupSel.value, keepL = labelSel.value;
  while (groupSel.options.length > 3) groupSel.remove(3);
  for (const k of keys) addOption(groupSel, 'label:' + k, 'label ' + k);
  while (labelSel.options.length > 1) labelSel.remove(1);
  for (const p of pairs) addOption(labelSel, p, p);
  if (keepG.startsWith('label:') && !keys.includes(keepG.slice(6))) addOption(groupSel, keepG, 'label ' + keepG.slice(6));
  if (keepL && !pairs.includes(keepL)) addOption(labelSel, keepL, keepL);
  groupSel.value = keepG; labelSel.value = keepL;
}

// Filters and grouping live in the fragment
// (#state=unhealthy,unreachable&q=movies&label=team=search&group=host), so a
// view can be bookmarked or shared. The fragment never reaches the server.
function saveHash() {
  const p = new URLSearchParams();
  if (f.states.size) p.set('state', Array.from(f.states).join(','));
  if (qInput.value) p.set('q', qInput.value);
  if (f.label) p.set('label', f.label);
  if (table.groupBy) p.set('group', table.groupBy);
  const h = p.toString();
  history.replaceState(null, '', h ? '#' + h : location.pathname + location.search);
}

function loadHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  f.states.clear();
  for (const s of (p.get('state') || '').split(',')) if (STATES.includes(s)) f.states.add(s);
  qInput.value = p.get('q') || '';
  setQuery(qInput.value);
  const label = p.get('label') || '';
  f.label = /^[^=]+=/.test(label) ? label : '';
  const g = p.get('group') || '';
  table.groupBy = g === 'host' || g === 'error' || /^label:[a-z0-9_.-]+$/.test(g) ? g : '';
  if (table.groupBy.startsWith('label:') && !Array.from(groupSel.options).some((o) => o.value === table.groupBy)) {
    addOption(groupSel, table.groupBy, 'label ' + table.groupBy.slice(6));
  }
  applyFilterUI();
  table.viewDirty = true;
}
window.addEventListener('hashchange', () => { loadHash(); table.schedule(); });

// Durations ("for 3m", "12s ago") move with the clock: repaint the visible
// rows once a second. Only text that changed touches the DOM.
setInterval(() => table.schedule(), 1000);

// ---- test and measurement hook (read-only) -----------------------------------
window.spo2 = Object.freeze({
  /** number of URLs known to the page */
  rows: () => store.shown.map.size,
  /** number of URLs passing the current filters */
  visible: () => table.view.length,
  /** true while the page holds a complete, live copy of the server's state */
  get synced() { return store.synced; },
  /** connection state: connecting, live, reconnecting or auth */
  get conn() { return stream.state; },
  /** JS time of the last frame (sort, filter, paint), ms */
  get renderMs() { return table.lastRenderMs; },
  /** JS time of the last filter and grouping, ms */
  get filterMs() { return table.filterMs; },
  /** socket open → snapshot rendered, ms (last sync) */
  get snapshotMs() { return snapshotMs; },
  /** JS time of the frame that rendered the last snapshot, ms */
  get syncRenderMs() { return syncRenderMs; },
  /** page start → first frame with a failing row on top, ms (0: none yet) */
  get firstFailingMs() { return firstFailingMs; },
  /** page start → the frame that painted the last sync, ms */
  get syncedAtMs() { return syncedAtMs; },
  /** the text query the view reflects, and when it was applied (performance.now()) */
  get query() { return table.appliedQuery; },
  get queryAt() { return table.appliedAt; },
  /** successful syncs since the page loaded */
  get connects() { return stream.connects; },
  /** snapshots received, and reconnects resumed without one */
  get snapshots() { return store.snapshots; },
  get resumed() { return store.resumed; },
  /** the last event sequence number seen */
  get lastSeq() { return store.lastSeq; },
  /** the WebSocket URL of the last connection attempt */
  get wsURL() { return stream.lastURL; },
  /** true while the order is held for the reader; changes waiting */
  get held() { return table.held; },
  get pending() { return table.pending; },
  /** URLs in display order after filters (first n) */
  order: (n) => table.view.slice(0, n === undefined ? table.view.length : n).map((r) => r.url),
  /** the table's items in order: URLs, and groups as {key, n, failing} */
  items: (n) => table.items.slice(0, n === undefined ? table.items.length : n).map((it) => (it.group ? { key: it.key, n: it.rows.length, failing: it.failing } : it.url)),
  /** the state of one URL as the page knows it, or null */
  state: (url) => { const r = store.shown.map.get(url); return r ? r.state : null; },
  /** cumulative counters */
  stats: () => ({ frames: table.frames, renderMsTotal: table.renderMsTotal, events: store.events, messages: store.messages,
    applyMsTotal: store.applyMs, longestSlice: store.longestSlice,
    openedAt: stream.openedAt, firstMessageAt: store.firstAt, lastMessageAt: store.lastAt, syncAppliedAt: store.syncAt, domRows: table.pool.length, indexMs: table.index.buildMs }),
});

loadHash();
table.schedule();
stream.connect();
