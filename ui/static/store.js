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

// sharedUptime returns one frozen [24 h, 7 d] pair for equal shares: most
// of a fleet is up all the time ([1, 1]), and a pair per row would cost
// megabytes.
const uptimes = new Map(); // 24 h share -> Map(7 d share -> pair)
let uptimePairs = 0;
function sharedUptime(day, week) {
  let byWeek = uptimes.get(day);
  if (!byWeek) { byWeek = new Map(); if (uptimePairs < 20000) uptimes.set(day, byWeek); }
  let v = byWeek.get(week);
  if (!v) { v = Object.freeze([day, week]); if (uptimePairs < 20000) { byWeek.set(week, v); uptimePairs++; } }
  return v;
}

// cmp orders rows: failing first, then pending, paused, healthy; inside a
// group the most recent change first; then by URL.
export function cmp(a, b) {
  return (a.rank - b.rank) || (b.since - a.since) || (a.url < b.url ? -1 : a.url > b.url ? 1 : 0);
}

// Row is one URL as the page shows it. Only what a row shows is kept: the
// full custom data and history are fetched when the details panel opens.
// A row is made from a record object (rowFromRecord) or from a record of a
// compact snapshot (Compact.row), with the same fields in the same order.
class Row {
  constructor(url, data, labelsKey, labels, probe, silenced, uptime, expires) {
    this.url = url;
    this.shown = maskURL(url);
    this.dataText = compactData(data);
    this.labelsKey = labelsKey;         // "k=v,k=v", keys sorted
    this.labels = labels;               // shared by every row with the same labels
    this.probe = probe;                 // shared by every row with the same settings
    this.interval = probe ? probe.intervalMs : 0;
    this.silenced = silenced;
    this.uptime = uptime;               // [24 h, 7 d] shares, or null
    this.expires = expires;
    this.state = 'pending'; this.rank = 1; this.code = 0; this.error = ''; this.kind = ''; this.latency = -1;
    this.since = 0;
    this.checked = 0;
    this.ver = 0;     // bumped on every change, so a painted cell knows it is stale
    this.mark = 0;    // the order stamp of the last move (see Coll)
    this.hid = -1;    // position in the search index, -1 when not indexed
    this.gone = false;
    this.host = '';   // filled on demand by grouping
  }

  setStatus(st) {
    this.setState(typeof st.state === 'string' && st.state ? st.state : 'pending', st.code || 0,
      st.error || '', st.error_kind || '', st.latency_ms);
  }

  // setState sets the state and the last probe's details; latency in ms
  // (not a number: unknown).
  setState(s, code, error, kind, latency) {
    this.state = strings.get(s);
    this.rank = RANK[s] === undefined ? RANK_OTHER : RANK[s];
    this.code = code;
    this.error = strings.get(error);
    this.kind = strings.get(kind);
    // Tenths of a millisecond, a small integer: no boxed number per row.
    this.latency = typeof latency === 'number' ? Math.round(latency * 10) : -1;
  }
}

// rowFromRecord makes a row from a record as the API and the snapshot and
// registered events carry it.
function rowFromRecord(rec) {
  const key = strings.get(labelsText(rec.labels));
  const up = rec.uptime && typeof rec.uptime === 'object' ? sharedUptime(rec.uptime['24h'], rec.uptime['7d']) : null;
  const r = new Row(rec.url, rec.data, key, sharedLabels(rec.labels, key), sharedProbe(rec.probe),
    rec.silenced === true, up, rec.expires_at ? parseTime(rec.expires_at) : 0);
  const st = rec.status || {};
  r.setStatus(st);
  r.since = parseTime(st.since);
  r.checked = parseTime(st.checked_at);
  return r;
}

// Positions of a record's fields in a compact snapshot (docs/api.md).
const C_URL = 0, C_DATA = 1, C_PROBE = 2, C_LABELS = 3, C_EXPIRES = 4, C_SILENCED = 5, C_UPTIME = 6,
  C_STATE = 7, C_CODE = 8, C_ERROR = 9, C_KIND = 10, C_LATENCY = 11, C_CHECKED = 12, C_SINCE = 13;

// Compact decodes the "records" events of one compact snapshot: their
// table of shared values (filled frame after frame) and their records,
// each an array, made into rows without an object per record. What a row
// needs from a table entry (a label set's text, a probe's interval) is
// derived once per entry.
export class Compact {
  constructor() { this.table = []; this.labels = []; this.probes = []; }

  // add appends a "records" event's new table entries; false when they do
  // not follow the ones held (a frame was missed).
  add(e) {
    if (e.table_at !== this.table.length || !Array.isArray(e.table)) return false;
    for (const v of e.table) this.table.push(v);
    return true;
  }

  str(i) { const v = this.table[i]; return typeof v === 'string' ? v : ''; }

  // row makes a row from the compact record a; null when it is not one.
  row(a) {
    if (!Array.isArray(a) || typeof a[C_URL] !== 'string') return null;
    const li = a[C_LABELS], pi = a[C_PROBE];
    let l = this.labels[li];
    if (l === undefined) {
      const labels = this.table[li];
      const key = strings.get(labelsText(labels));
      l = this.labels[li] = { key, labels: sharedLabels(labels, key) };
    }
    let probe = this.probes[pi];
    if (probe === undefined) probe = this.probes[pi] = sharedProbe(this.table[pi]);
    const up = a[C_UPTIME];
    const r = new Row(a[C_URL], a[C_DATA], l.key, l.labels, probe, a[C_SILENCED] === 1,
      Array.isArray(up) ? sharedUptime(up[0], up[1]) : null, a[C_EXPIRES] || 0);
    r.setState(this.str(a[C_STATE]) || 'pending', a[C_CODE] || 0, this.str(a[C_ERROR]), this.str(a[C_KIND]), a[C_LATENCY]);
    r.since = a[C_SINCE] || 0;
    r.checked = a[C_CHECKED] || 0;
    return r;
  }
}

// Coll is one set of rows with its sorted order. Changes collect the rows
// that moved (new, replaced, changed state); settle() restores the order.
export class Coll {
  constructor() {
    this.map = new Map();
    this.order = [];
    this.moved = [];
    this.above = null; this.aboveChecked = 0; // see movesAbove
    this.removed = 0;
    this.stamp = 1;
    this.version = 0;  // bumped when settle() changes the order
    this.changes = 0;  // events applied to rows of this set
  }

  move(r) {
    if (r.mark !== this.stamp) { r.mark = this.stamp; this.moved.push(r); }
  }

  // movesAbove reports whether a row moved since the last settle sorts
  // before r. Rows already found not to are not tested again for the same r.
  movesAbove(r) {
    if (r !== this.above) { this.above = r; this.aboveChecked = 0; }
    const moved = this.moved;
    for (; this.aboveChecked < moved.length; this.aboveChecked++) if (cmp(moved[this.aboveChecked], r) < 0) return true;
    return false;
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
    this.above = null;
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
    this.recs = null; this.recsI = 0; // the records of a "records" event being applied
    this.compact = null;    // the table of the compact snapshot being received
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
    this.queue = []; this.cur = null; this.recs = null; this.compact = null;
    this.firstAt = 0;
    this.synced = false;
    this.loading = !this.everSynced; // a reconnect may resume without a snapshot
    this.staging = null;
    this.snapshotStarted = false;
  }

  // end marks the connection lost: rows stay on screen, no longer live.
  end() {
    this.queue = []; this.cur = null; this.recs = null; this.compact = null;
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
      if (this.recs) {
        // The records of a compact snapshot's frame, 200 between clock reads.
        const recs = this.recs, end = Math.min(recs.length, this.recsI + EVENTS_PER_CHECK);
        for (let i = this.recsI; i < end; i++) { const r = this.compact.row(recs[i]); if (r) this.putRow(r); }
        n += end - this.recsI;
        this.recsI = end;
        if (end >= recs.length) this.recs = null;
        continue;
      }
      if (!this.cur) {
        if (this.queue.length === 0) break;
        const text = this.queue.shift();
        let list;
        try { list = JSON.parse(text); } catch (_) { continue; }
        this.cur = Array.isArray(list) ? list : [list];
        this.curI = 0;
      }
      const list = this.cur;
      let end = Math.min(list.length, this.curI + EVENTS_PER_CHECK), i = this.curI;
      // A "records" event's records are applied before the events after it.
      while (i < end && !this.recs) this.apply(list[i++]);
      end = i;
      n += end - this.curI;
      this.curI = end;
      if (end >= list.length) this.cur = null;
    }
    if (this.staging) this.staging.settle();
    const dt = performance.now() - t0;
    this.applyMs += dt;
    if (dt > this.longestSlice) this.longestSlice = dt;
    this.events += n;
    if (this.recs || this.cur || this.queue.length) this.kick();
    else this.pumping = false;
    this.onChange();
  }

  apply(e) {
    if (!e || typeof e !== 'object') return;
    switch (e.type) {
      case 'snapshot': this.startSnapshot(); this.put(e.record); break;
      case 'records': this.records(e); break;
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

  // startSnapshot is called by every event of a snapshot.
  startSnapshot() {
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
  }

  // records takes a "records" event of a compact snapshot: its table
  // entries now, its records in the next slices (see pump). An event whose
  // table does not follow the one held (a server never sends one) is
  // ignored with its records.
  records(e) {
    this.startSnapshot();
    if (!this.compact || e.table_at === 0) this.compact = new Compact();
    if (!this.compact.add(e) || !Array.isArray(e.records)) return;
    this.recs = e.records; this.recsI = 0;
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
    this.putRow(rowFromRecord(rec));
  }

  putRow(r) {
    const c = this.target();
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
