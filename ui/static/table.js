// The table: filters and grouping applied to the sorted rows, painted once
// per animation frame into a few dozen pooled <tr> elements (virtualised:
// spacer rows stand for the rest). While the reader's pointer or focus is
// in the table the order is held: rows keep their places (their cells
// still update) and a "paused — N changes" control applies the changes.
import { STATES, isFailing } from './store.js';
import { SearchIndex } from './search.js';
import { group, flatten } from './groups.js';
import { fmtDur, fmtAgo, fmtLatency, num } from './format.js';

const OVERSCAN = 8;
// While a snapshot loads into the table, its order is brought up to date at
// most this often (ms): the first rows (failing first) show at once, and
// a large fleet does not pay a merge per frame.
const LOADING_SETTLE_MS = 300;
// Unless a row that arrived would show in the window, the order of a first
// load is only brought up to date this often (ms): the rows below the
// window wait, and each merge of a 100,000-row order is saved.
const LOADING_GROW_MS = 1000;
// A filter costing more than this (ms) is applied after typing pauses.
const SLOW_FILTER_MS = 40;
const DEBOUNCE_MS = 90;
const TOUCH_HOLD_MS = 3000;

export class Table {
  constructor(store, els) {
    this.store = store;
    this.els = els;
    this.filter = { states: new Set(), terms: [], label: '' };
    this.groupBy = '';
    this.open = new Set();      // expanded group keys
    this.index = new SearchIndex();
    this.coll = null;
    this.view = [];             // rows passing the filters, sorted
    this.groups = null;         // groups of view, when grouping
    this.items = [];            // what the table lists: rows and group headers
    this.viewDirty = true;
    this.appliedChanges = 0;    // coll.changes reflected in items
    this.appliedVersion = -1;
    this.pointerIn = false;
    this.touchUntil = 0; this.touchTimer = 0;
    this.held = false;
    this.rowH = 34; this.headH = 30; this.measureRow = true;
    this.pool = [];
    this.shown = {};
    this.rafPending = false;
    this.filterMs = 0; this.lastRenderMs = 0; this.renderMsTotal = 0; this.frames = 0;
    this.debounce = 0;
    this.settledAt = 0;
    this.comeBack = 0;          // a timer to merge rows left unmerged by a loading frame
    this.appliedQuery = ''; this.appliedAt = 0; // what the view reflects, and when
    this.onFrame = null;        // called at the end of every frame
    this.onOpen = null;         // called with a row to open its details
    this.frameCb = () => this.frame();
    this.bind();
  }

  bind() {
    const { scroller, tbody, heldBtn } = this.els;
    scroller.addEventListener('scroll', () => this.schedule(), { passive: true });
    window.addEventListener('resize', () => { this.measureRow = true; this.schedule(); });
    // A mouse or pen over the table holds the order while it is there. A
    // finger holds it while it touches the table and TOUCH_HOLD_MS after it
    // lifts, longer while the list still scrolls (touch pointers leave as
    // soon as the browser takes the gesture over for scrolling).
    scroller.addEventListener('pointerenter', (e) => { if (e.pointerType !== 'touch') { this.pointerIn = true; this.updateHold(); } });
    scroller.addEventListener('pointerleave', (e) => { if (e.pointerType !== 'touch') { this.pointerIn = false; this.updateHold(); } });
    const release = () => {
      this.touchUntil = performance.now() + TOUCH_HOLD_MS;
      clearTimeout(this.touchTimer);
      this.touchTimer = setTimeout(() => this.updateHold(), TOUCH_HOLD_MS + 20);
    };
    scroller.addEventListener('touchstart', () => { clearTimeout(this.touchTimer); this.touchUntil = Infinity; this.updateHold(); }, { passive: true });
    scroller.addEventListener('touchend', release, { passive: true });
    scroller.addEventListener('touchcancel', release, { passive: true });
    scroller.addEventListener('scroll', () => { if (this.touchUntil !== Infinity && performance.now() < this.touchUntil) release(); }, { passive: true });
    scroller.addEventListener('focusin', () => this.updateHold());
    scroller.addEventListener('focusout', () => queueMicrotask(() => this.updateHold()));
    heldBtn.addEventListener('click', () => { this.viewDirty = true; this.frame(); });
    tbody.addEventListener('click', (e) => {
      const tr = e.target.closest('tr');
      if (!tr || !tr._item) return;
      if (tr._item.group) { this.toggle(tr._item.key); return; }
      if (this.onOpen) this.onOpen(tr._item);
    });
  }

  updateHold() {
    const held = this.pointerIn || performance.now() < this.touchUntil || this.els.scroller.contains(document.activeElement);
    if (held === this.held) return;
    this.held = held;
    if (!held) this.viewDirty = true; // apply what changed meanwhile
    this.schedule();
  }

  toggle(key) {
    if (this.open.has(key)) this.open.delete(key); else this.open.add(key);
    this.viewDirty = true;
    this.frame(); // the reader asked: apply now, even while held
  }

  // filtersChanged applies new filters at once, or, when filtering is slow
  // (a large fleet) and typing, after a short pause.
  filtersChanged(typing) {
    this.viewDirty = true;
    this.els.scroller.scrollTop = 0;
    clearTimeout(this.debounce);
    if (typing && this.filterMs > SLOW_FILTER_MS) this.debounce = setTimeout(() => this.frame(), DEBOUNCE_MS);
    else this.schedule();
  }

  schedule() {
    if (!this.rafPending) { this.rafPending = true; requestAnimationFrame(this.frameCb); }
  }

  filtered() { return this.filter.states.size > 0 || this.filter.terms.length > 0 || this.filter.label !== ''; }

  // pending counts the changes to rows not yet reflected in the order.
  get pending() { return this.coll ? this.coll.changes - this.appliedChanges : 0; }

  frame() {
    this.rafPending = false;
    const t0 = performance.now();
    const c = this.store.shown;
    if (this.settleNow(c, t0)) {
      if (c.settle()) this.settledAt = t0;
    } else if (c.moved.length && !this.comeBack) {
      // Come back for the rows not merged yet, should no more events come.
      this.comeBack = setTimeout(() => { this.comeBack = 0; this.schedule(); }, LOADING_SETTLE_MS);
    }
    if (c !== this.coll) { this.coll = c; this.viewDirty = true; }
    const stale = this.appliedVersion !== c.version || this.viewDirty;
    if (stale && (!this.held || this.viewDirty)) {
      this.rebuild(c);
      this.appliedVersion = c.version;
      this.appliedChanges = c.changes;
      this.viewDirty = false;
    } else if (!stale) {
      this.appliedChanges = c.changes;
    }
    this.paintHeader();
    this.paintRows();
    const t1 = performance.now();
    this.lastRenderMs = t1 - t0;
    this.renderMsTotal += this.lastRenderMs;
    this.frames++;
    if (this.onFrame) this.onFrame(t0, t1);
  }

  // settleNow tells whether this frame brings the order up to date. While a
  // first snapshot loads into the table it does so at most every
  // LOADING_SETTLE_MS, and only when a row that arrived would show in the
  // window (or LOADING_GROW_MS passed): most of a large snapshot lands
  // below the window, where no one sees it before it is complete.
  settleNow(c, t0) {
    const s = this.store;
    if (!s.loading || s.staging || c.order.length === 0) return true;
    const since = t0 - this.settledAt;
    if (since < LOADING_SETTLE_MS) return false;
    if (since >= LOADING_GROW_MS || this.items !== c.order || this.held) return true;
    const end = this.windowEnd();
    return end >= c.order.length || c.movesAbove(c.order[end]);
  }

  // windowEnd is the index of the first item below the rows painted.
  windowEnd() {
    const viewH = Math.max(this.els.scroller.clientHeight - this.headH, this.rowH);
    const top = Math.max(0, this.els.scroller.scrollTop - this.headH);
    return Math.ceil((top + viewH) / this.rowH) + OVERSCAN;
  }

  rebuild(c) {
    const t0 = performance.now();
    const f = this.filter;
    if (this.filtered()) {
      const states = f.states.size ? f.states : null;
      const text = f.terms.length ? this.index.matcher(c, f.terms) : null;
      let lk = '', lv = '';
      if (f.label) { const eq = f.label.indexOf('='); lk = f.label.slice(0, eq); lv = f.label.slice(eq + 1); }
      this.view = c.order.filter((r) =>
        (!states || states.has(r.state) || (states.has('failing') && isFailing(r.state))) &&
        (!lk || r.labels[lk] === lv) &&
        (!text || text(r)));
    } else {
      this.view = c.order;
    }
    if (this.groupBy) {
      this.groups = group(this.view, this.groupBy);
      this.items = flatten(this.groups, this.open);
    } else {
      this.groups = null;
      this.items = this.view;
    }
    this.filterMs = performance.now() - t0;
    this.appliedQuery = f.terms.join(' ');
    this.appliedAt = performance.now();
  }

  paintHeader() {
    const s = this.store, e = this.els, sh = this.shown;
    const loadingFirst = !s.everSynced;
    const all = s.shown.map.size;
    // Counts are only final once synced: while the first snapshot arrives
    // they show "…", never a zero that reads as "nothing is failing".
    const allText = loadingFirst ? '…' : num(all);
    if (sh.all !== allText) { e.counts.all.textContent = allText; sh.all = allText; }
    for (const st of STATES) {
      const t = loadingFirst ? '…' : num(s.counts[st]);
      if (sh[st] !== t) { e.counts[st].textContent = t; sh[st] = t; }
    }
    const busy = loadingFirst ? 'true' : 'false';
    if (sh.busy !== busy) { e.filters.setAttribute('aria-busy', busy); sh.busy = busy; }

    let loading = '';
    if (s.loading) {
      const n = s.received;
      loading = (s.everSynced ? 'Reloading… ' : 'Loading… ') + num(n) + (n === 1 ? ' record' : ' records');
    }
    if (sh.loading !== loading) {
      e.loadingText.textContent = loading;
      e.loading.hidden = loading === '';
      sh.loading = loading;
    }

    const shownN = this.view.length;
    let summary = '';
    if (s.everSynced || all > 0) {
      const what = this.groups ? ' in ' + num(this.groups.length) + (this.groups.length === 1 ? ' group' : ' groups') : '';
      summary = this.filtered() ? 'Showing ' + num(shownN) + ' of ' + num(all) + ' URLs' + what
        : num(all) + (all === 1 ? ' URL' : ' URLs') + what + (this.groups ? ' · most failing first' : ' · failing first, then most recent change');
    }
    if (summary !== sh.summary) { e.summary.textContent = summary; sh.summary = summary; }

    const pending = this.held && (this.appliedVersion !== this.coll.version) ? this.pending : 0;
    const heldText = pending > 0 ? 'Order paused while you read — ' + num(pending) + (pending === 1 ? ' change' : ' changes') + ' · Apply' : '';
    if (heldText !== sh.held) { e.heldBtn.textContent = heldText; e.heldBtn.hidden = heldText === ''; sh.held = heldText; }

    let empty = '';
    if (this.items.length === 0) {
      if (!s.everSynced) empty = s.loading ? '' : 'Waiting for data…';
      else if (all === 0) empty = 'No URLs registered yet. Register one with PUT /?url=…';
      else empty = 'No URL matches the filter.';
    }
    if (empty !== sh.empty) { e.empty.textContent = empty; e.empty.hidden = empty === ''; sh.empty = empty; }
    const total = this.items.length;
    if (sh.total !== total) { e.table.setAttribute('aria-rowcount', String(total + 1)); sh.total = total; }
  }

  paintRows() {
    const { scroller, padTop, padBottom, padTopCell, padBottomCell, tbody } = this.els;
    const items = this.items, total = items.length, rowH = this.rowH;
    const viewH = Math.max(scroller.clientHeight - this.headH, rowH);
    const top = Math.max(0, scroller.scrollTop - this.headH);
    let first = Math.max(0, Math.floor(top / rowH) - OVERSCAN);
    const last = Math.min(total, Math.ceil((top + viewH) / rowH) + OVERSCAN);
    if (first > last) first = last;
    const n = last - first, pool = this.pool;
    while (pool.length < n) { const tr = makeTr(); tbody.insertBefore(tr, padBottom); pool.push(tr); }
    while (pool.length > n) pool.pop().remove();
    padTopCell.style.height = (first * rowH) + 'px';
    padBottomCell.style.height = ((total - last) * rowH) + 'px';
    padTop.hidden = first === 0;
    padBottom.hidden = total === last;
    const now = Date.now(), live = this.store.synced;
    for (let i = 0; i < n; i++) {
      const it = items[first + i];
      if (it.group) fillGroup(pool[i], it, first + i);
      else fillRow(pool[i], it, first + i, now, live);
    }
    if (n > 0 && this.measureRow) this.measure();
  }

  measure() {
    this.measureRow = false;
    let tr = this.pool.find((x) => !x._item || !x._item.group) || this.pool[0];
    const h = tr.getBoundingClientRect().height;
    const head = this.els.table.tHead.getBoundingClientRect().height;
    if (h > 0 && (Math.abs(h - this.rowH) > 0.1 || Math.abs(head - this.headH) > 0.1)) {
      this.rowH = h; this.headH = head;
      this.schedule();
    }
  }
}

const CELLS = ['state', 'url', 'result', 'lat num', 'since', 'data', 'check'];

function makeTr() {
  const tr = document.createElement('tr');
  for (const cls of CELLS) {
    const td = document.createElement('td');
    td.className = cls;
    tr.appendChild(td);
  }
  const c = tr.cells;
  const badge = document.createElement('span');
  badge.className = 'badge';
  c[0].appendChild(badge);
  const mark = document.createElement('span');
  mark.className = 'mark';
  c[0].appendChild(mark);
  const open = document.createElement('button');
  open.type = 'button';
  open.className = 'open';
  const u = document.createElement('span');
  u.className = 'u';
  open.appendChild(u);
  c[1].appendChild(open);
  tr._c = { badge, mark, open, u, url: c[1], result: c[2], lat: c[3], since: c[4], data: c[5], check: c[6], gbtn: null };
  tr._item = null; tr._ver = -1; tr._idx = -1; tr._since = null; tr._check = null; tr._kind = '';
  return tr;
}

function setKind(tr, kind) {
  if (tr._kind === kind) return;
  tr._kind = kind;
  tr.className = kind;
  tr.cells[0].colSpan = kind === 'g' ? CELLS.length : 1;
  tr._item = null;
}

function fillGroup(tr, g, idx) {
  setKind(tr, 'g');
  const c = tr._c;
  if (!c.gbtn) {
    c.gbtn = document.createElement('button');
    c.gbtn.type = 'button';
    c.gbtn.className = 'gbtn';
    tr.cells[0].appendChild(c.gbtn);
  }
  if (tr._idx !== idx) { tr.setAttribute('aria-rowindex', String(idx + 2)); tr._idx = idx; }
  const text = (g.open ? '▾ ' : '▸ ') + g.key + ' — ' + num(g.rows.length) + (g.rows.length === 1 ? ' URL' : ' URLs') +
    (g.failing ? ' · ' + num(g.failing) + ' failing' : '');
  if (tr._item !== g || c.gbtn.textContent !== text) {
    tr._item = g;
    tr.dataset.group = g.key;
    tr.dataset.state = g.failing ? 'unhealthy' : 'healthy';
    delete tr.dataset.url;
    c.gbtn.textContent = text;
    c.gbtn.setAttribute('aria-expanded', g.open ? 'true' : 'false');
  }
}

function fillRow(tr, r, idx, now, live) {
  setKind(tr, 'r');
  const c = tr._c;
  if (tr._idx !== idx) { tr.setAttribute('aria-rowindex', String(idx + 2)); tr._idx = idx; }
  if (tr._item !== r || tr._ver !== r.ver) {
    tr._item = r; tr._ver = r.ver;
    const state = r.gone ? 'removed' : r.state;
    tr.dataset.url = r.url;
    tr.dataset.state = state;
    delete tr.dataset.group;
    c.badge.textContent = state;
    c.mark.textContent = r.silenced ? '🔕' : '';
    c.mark.title = r.silenced ? 'silenced: no Slack message while the silence lasts' : '';
    c.u.textContent = r.shown;
    c.open.title = r.shown;
    c.open.setAttribute('aria-label', 'Details of ' + r.shown);
    renderResult(c.result, r);
    c.lat.textContent = r.latency < 0 || (r.state === 'pending' && !r.checked) ? '—' : fmtLatency(r.latency / 10);
    c.data.textContent = (r.labelsKey ? '[' + r.labelsKey + ']  ' : '') + (r.dataText || (r.labelsKey ? '' : '—'));
    c.since.title = r.since ? r.state + ' since ' + new Date(r.since).toLocaleString() : '';
    tr._since = null; tr._check = null;
  }
  const since = r.since ? fmtDur(now - r.since) : '—';
  if (since !== tr._since) { c.since.textContent = since; tr._since = since; }
  const check = checkText(r, now, live);
  if (check !== tr._check) {
    c.check.textContent = check;
    tr._check = check;
    c.check.title = !r.checked ? 'not checked yet' : 'last reported check: ' + new Date(r.checked).toLocaleString() +
      (r.interval ? ' · probed every ' + fmtDur(r.interval) : '');
  }
}

function renderResult(td, r) {
  td.textContent = '';
  if (r.state === 'unreachable' || (r.error && !r.code)) {
    if (r.kind) {
      const k = document.createElement('span');
      k.className = 'kind';
      k.textContent = r.kind;
      td.appendChild(k);
    }
    td.appendChild(document.createTextNode(r.error || 'no answer'));
  } else if (r.code) {
    td.textContent = 'HTTP ' + r.code;
  } else {
    td.textContent = '—';
  }
}

// checkText says when the URL was last probed. The snapshot carries the
// exact time; afterwards only state changes are streamed, so while the
// page is live a URL in a steady state is known to have been probed within
// its interval ("≤ 10s ago"). Once the connection is lost, the page shows
// the last time it knows for sure.
export function checkText(r, now, live) {
  if (r.state === 'paused') return 'paused';
  if (!r.checked) return 'never';
  const ago = now - r.checked;
  if (live && r.interval && ago > r.interval + 2000) return '≤ ' + fmtDur(r.interval) + ' ago';
  return fmtAgo(ago);
}
