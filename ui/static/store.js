// The model: what the page knows about every URL, kept compact (100,000
// rows fit in a few tens of MB), and the events that change it. Events are
// queued and applied in slices of a few milliseconds, yielding to the
// browser between slices, so a large snapshot never blocks the page.
import { maskURL, compactData, labelsText, parseDur, parseTime } from './format.js';

export const STATES = ['unhealthy', 'unreachable', 'pending', 'paused', 'healthy'];
// Failing first (unhealthy and unreachable together), then pending, paused,
// anything unknown, healthy.
const RANK = { unhealthy: 0, unreachable: 0, pending: 1, paused: 2, healthy: 4 };
const RANK_OTHER = 3;
export const isFailing = (s) => s === 'unhealthy' || s === 'unreachable';

// SLICE_MS bounds the work done in one task before yielding.
const SLICE_MS = 12;
// EVENTS_PER_CHECK is how many events are applied between two clock reads.
const EVENTS_PER_CHECK = 200;

// Interner hands out one shared copy of equal strings (error messages,
// probe settings, labels): 100,000 rows failing with the same error hold
// one string, not 100,000. It stops growing at max entries.
class Interner {
  constructor(max) { this.m = new Map(); this.max = max; }
  get(s) {
    if (!s) return '';
    const v = this.m.get(s);
    if (v !== undefined) return v;
    if (this.m.size < this.max) this.m.set(s, s);
    return s;
  }
}
const strings = new Interner(20000);
const labelSets = new Map(); // labelsText -> frozen labels object, shared
const NO_LABELS = Object.freeze({});

function sharedLabels(labels, text) {
  if (!text) return NO_LABELS;
  let l = labelSets.get(text);
  if (!l) {
    l = Object.freeze(Object.assign({}, labels));
    if (labelSets.size < 20000) labelSets.set(text, l);
  }
  return l;
}

// sharedProbe returns one frozen copy of equal probe settings, with the
// interval in ms: a fleet has a handful of distinct settings, not one per URL.
const probes = new Map();
function sharedProbe(p) {
  if (!p || typeof p !== 'object') return null;
  const key = p.interval + '|' + p.timeout + '|' + p.failure_threshold + '|' + p.success_threshold + '|' + p.expect;
  let v = probes.get(key);
  if (!v) {
    v = Object.freeze(Object.assign({}, p, { intervalMs: parseDur(p.interval) }));
    if (probes.size < 20000) probes.set(key, v);
  }
  return v;
}

// cmp orders rows: failing first, then pending, paused, healthy; inside a
// group the most recent change first; then by URL.
export function cmp(a, b) {
  return (a.rank - b.rank) || (b.since - a.since) || (a.url < b.url ? -1 : a.url > b.url ? 1 : 0);
}

// Row is one URL as the page shows it. Only what a row shows is kept: the
// full custom data and history are fetched when the details panel opens.
class Row {
  constructor(rec) {
    this.url = rec.url;
    this.shown = maskURL(rec.url);
    this.dataText = compactData(rec.data);
    this.labelsKey = strings.get(labelsText(rec.labels)); // "k=v,k=v", keys sorted
    this.labels = sharedLabels(rec.labels, this.labelsKey);
    const probe = sharedProbe(rec.probe);
    this.probe = probe;                 // shared by every row with the same settings
    this.interval = probe ? probe.intervalMs : 0;
    this.silenced = rec.silenced === true;
    this.uptime = rec.uptime && typeof rec.uptime === 'object' ? rec.uptime : null;
    this.expires = rec.expires_at ? parseTime(rec.expires_at) : 0;
    const st = rec.status || {};
    this.state = 'pending'; this.rank = 1; this.code = 0; this.error = ''; this.kind = ''; this.latency = -1;
    this.setStatus(st);
    this.since = parseTime(st.since);
    this.checked = parseTime(st.checked_at);
    this.ver = 0;     // bumped on every change, so a painted cell knows it is stale
    this.mark = 0;    // the order stamp of the last move (see Coll)
    this.hid = -1;    // position in the search index, -1 when not indexed
    this.gone = false;
    this.host = '';   // filled on demand by grouping
  }

  setStatus(st) {
    const s = typeof st.state === 'string' && st.state ? st.state : 'pending';
    this.state = strings.get(s);
    this.rank = RANK[s] === undefined ? RANK_OTHER : RANK[s];
    this.code = st.code || 0;
    this.error = strings.get(st.error || '');
    this.kind = strings.get(st.error_kind || '');
    // Tenths of a millisecond, a small integer: no boxed number per row.
    this.latency = typeof st.latency_ms === 'number' ? Math.round(st.latency_ms * 10) : -1;
  }
}

// Coll is one set of rows with its sorted order. Changes collect the rows
// that moved (new, replaced, changed state); settle() restores the order.
export class Coll {
  constructor() {
    this.map = new Map();
    this.order = [];
    this.moved = [];
    this.removed = 0;
    this.stamp = 1;
    this.version = 0;  // bumped when settle() changes the order
    this.changes = 0;  // events applied to rows of this set
  }

  move(r) {
    if (r.mark !== this.stamp) { r.mark = this.stamp; this.moved.push(r); }
  }

  put(r) {
    const old = this.map.get(r.url);
    if (old) { old.gone = true; r.ver = old.ver + 1; r.host = old.host; this.removed++; }
    this.map.set(r.url, r);
    this.move(r);
    this.changes++;
    return old;
  }

  remove(url) {
    const r = this.map.get(url);
    if (!r) return null;
    r.gone = true;
    r.ver++;
    this.map.delete(url);
    this.removed++;
    this.changes++;
    return r;
  }

  // settle brings order up to date in one merge pass (moved rows sorted,
  // then merged; removed and replaced rows dropped); it reports whether
  // anything changed.
  settle() {
    const moved = this.moved, stamp = this.stamp;
    if (moved.length === 0 && this.removed === 0) return false;
    moved.sort(cmp);
    const order = this.order, n = order.length, m = moved.length;
    const out = new Array(n + m);
    let i = 0, j = 0, k = 0;
    while (i < n) {
      const r = order[i++];
      if (r.mark === stamp || r.gone) continue;
      while (j < m && cmp(moved[j], r) < 0) { const x = moved[j++]; if (!x.gone) out[k++] = x; }
      out[k++] = r;
    }
    while (j < m) { const x = moved[j++]; if (!x.gone) out[k++] = x; }
    out.length = k;
    this.order = out;
    this.moved = [];
    this.removed = 0;
    this.stamp++;
    this.version++;
    return true;
  }
}

// Store holds the rows on screen, the staging set a snapshot fills while
// old rows stay on screen, the counts, and the last event sequence number.
export class Store {
  constructor(onChange) {
    this.onChange = onChange;
    this.shown = new Coll();
    this.staging = null;    // Coll filled by a snapshot that replaces shown at "synced"
    this.synced = false;    // the shown set is the server's complete, live state
    this.everSynced = false;
    this.loading = false;   // a snapshot is arriving (into shown on first load, else into staging)
    this.counts = {};
    this.resetCounts();
    this.lastSeq = 0;
    this.seqSeen = false;   // the server numbers its events (it can resume with ?since=)
    this.resumed = 0;       // reconnects resumed without a snapshot
    this.snapshots = 0;     // snapshots received
    this.queue = [];
    this.cur = null; this.curI = 0;
    this.pumping = false;
    this.events = 0; this.messages = 0; this.applyMs = 0; this.longestSlice = 0;
    const ch = new MessageChannel();
    ch.port1.onmessage = () => this.pump();
    this.kick = () => ch.port2.postMessage(0);
    this.onSynced = null;
    this.firstAt = 0; this.lastAt = 0; this.syncAt = 0; // performance.now() of the first and last message, of "synced"
  }

  resetCounts() { for (const s of STATES) this.counts[s] = 0; this.counts.other = 0; }
  count(r, d) { if (this.counts[r.state] !== undefined && r.state !== 'other') this.counts[r.state] += d; else this.counts.other += d; }
  recount() { this.resetCounts(); for (const r of this.shown.map.values()) this.count(r, 1); }

  // begin starts a new connection's stream. Without rows on screen the
  // snapshot fills the shown set directly, so the first (failing) rows
  // appear while the rest still arrives.
  begin() {
    this.queue = []; this.cur = null;
    this.firstAt = 0;
    this.synced = false;
    this.loading = !this.everSynced; // a reconnect may resume without a snapshot
    this.staging = null;
    this.snapshotStarted = false;
  }

  // end marks the connection lost: rows stay on screen, no longer live.
  end() {
    this.queue = []; this.cur = null;
    this.synced = false;
    this.loading = false;
    this.staging = null;
  }

  // push queues one WebSocket message (a JSON array of events).
  push(text) {
    if (this.loading && !this.firstAt) this.firstAt = performance.now();
    this.lastAt = performance.now();
    this.queue.push(text);
    this.messages++;
    if (!this.pumping) { this.pumping = true; this.kick(); }
  }

  pump() {
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < SLICE_MS) {
      if (!this.cur) {
        if (this.queue.length === 0) break;
        const text = this.queue.shift();
        let list;
        try { list = JSON.parse(text); } catch (_) { continue; }
        this.cur = Array.isArray(list) ? list : [list];
        this.curI = 0;
      }
      const list = this.cur, end = Math.min(list.length, this.curI + EVENTS_PER_CHECK);
      for (let i = this.curI; i < end; i++) this.apply(list[i]);
      n += end - this.curI;
      this.curI = end;
      if (end >= list.length) this.cur = null;
    }
    if (this.staging) this.staging.settle();
    const dt = performance.now() - t0;
    this.applyMs += dt;
    if (dt > this.longestSlice) this.longestSlice = dt;
    this.events += n;
    if (this.cur || this.queue.length) this.kick();
    else this.pumping = false;
    this.onChange();
  }

  apply(e) {
    if (!e || typeof e !== 'object') return;
    switch (e.type) {
      case 'snapshot': this.snapshot(e.record); break;
      case 'synced': this.sync(); break;
      case 'registered': this.put(e.record); break;
      case 'status': this.status(e); break;
      case 'removed': this.removed(e); break;
      default: break; // unknown events are ignored: newer servers may add some
    }
    // Remember the last sequence number, to resume after a short drop.
    if (typeof e.seq === 'number') { this.seqSeen = true; if (e.seq > this.lastSeq) this.lastSeq = e.seq; }
  }

  target() { return this.staging || this.shown; }

  snapshot(rec) {
    if (!this.snapshotStarted) {
      // A snapshot replaces everything. On the first load (nothing shown)
      // it fills the shown set as it arrives; otherwise the old rows stay
      // on screen until it is complete.
      this.snapshotStarted = true;
      this.loading = true;
      this.snapshots++;
      this.lastSeq = 0; // a new snapshot starts a new sequence (the server may have restarted)
      if (this.shown.map.size === 0) { this.shown = new Coll(); this.resetCounts(); }
      else this.staging = new Coll();
    }
    this.put(rec);
  }

  sync() {
    if (this.staging) {
      this.staging.settle();
      this.shown = this.staging;
      this.staging = null;
      this.recount();
    } else if (!this.snapshotStarted && this.everSynced) {
      this.resumed++;
    } else if (!this.snapshotStarted) {
      // An empty fleet: the snapshot had no records.
      this.shown = new Coll(); this.resetCounts();
    }
    this.syncAt = performance.now();
    this.synced = true;
    this.everSynced = true;
    this.loading = false;
    if (this.onSynced) this.onSynced();
  }

  put(rec) {
    if (!rec || typeof rec.url !== 'string') return;
    const c = this.target();
    const r = new Row(rec);
    const old = c.put(r);
    if (c === this.shown) { if (old) this.count(old, -1); this.count(r, 1); }
  }

  status(e) {
    const c = this.target();
    const r = c.map.get(e.url);
    if (!r) return;
    const live = c === this.shown;
    if (live) this.count(r, -1);
    r.setStatus(e);
    const at = parseTime(e.at);
    if (at) { r.since = at; r.checked = at; }
    r.ver++;
    c.changes++;
    if (live) this.count(r, 1);
    c.move(r);
  }

  removed(e) {
    const c = this.target();
    const r = c.remove(e.url);
    if (r && c === this.shown) this.count(r, -1);
  }

  // size is how many records the page holds (or has received of the
  // snapshot being loaded).
  get received() { return (this.staging || this.shown).map.size; }
}
