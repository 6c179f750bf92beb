// The text filter's index: the searchable text of every row (masked URL
// and compact data), lower-cased and joined into one string, with the
// offset where each row starts. A query word is found with the engine's
// native indexOf over that one string and mapped to rows by binary search,
// instead of testing every row per keystroke. Rows added after the index
// was built are tested directly; the index is rebuilt when they become many.
const MAX_TERMS = 8;
const REBUILD_AFTER = 2000;
const WARM_SLICE = 5000;

export const rowText = (r) => (r.shown + ' ' + r.dataText).toLowerCase();

export class SearchIndex {
  constructor() {
    this.coll = null;
    this.hay = '';
    this.starts = new Int32Array(1);
    this.size = 0;
    this.hits = new Uint8Array(0);
    this.buildMs = 0;
  }

  // prepare makes sure the index covers coll well enough.
  prepare(coll) {
    if (this.coll === coll && this.unindexed(coll) < REBUILD_AFTER) return;
    this.warming = null;
    const t0 = performance.now();
    const n = coll.map.size;
    const parts = new Array(n);
    const starts = new Int32Array(n + 1);
    let pos = 0, i = 0;
    for (const r of coll.map.values()) {
      const t = rowText(r);
      parts[i] = t;
      starts[i] = pos;
      r.hid = i;
      pos += t.length + 1;
      i++;
    }
    starts[n] = pos;
    this.hay = parts.join('\n');
    this.starts = starts;
    this.size = n;
    this.coll = coll;
    this.built = coll.changes;
    this.buildMs = performance.now() - t0;
  }

  // warm builds the index for coll in the background, a slice of rows per
  // task, so that the first keystroke after a load does not pay for it.
  warm(coll) {
    if (this.coll === coll && this.unindexed(coll) < REBUILD_AFTER) return;
    const token = this.warming = {};
    const rows = Array.from(coll.map.values());
    const changes = coll.changes;
    const parts = new Array(rows.length);
    let i = 0;
    const step = () => {
      if (this.warming !== token) return;
      if (coll.changes - changes >= REBUILD_AFTER) return; // too stale: build on demand
      const end = Math.min(rows.length, i + WARM_SLICE);
      for (; i < end; i++) parts[i] = rowText(rows[i]);
      if (i < rows.length) { setTimeout(step, 0); return; }
      const starts = new Int32Array(rows.length + 1);
      let pos = 0;
      for (let k = 0; k < rows.length; k++) { starts[k] = pos; pos += parts[k].length + 1; }
      starts[rows.length] = pos;
      for (let k = 0; k < rows.length; k++) if (!rows[k].gone) rows[k].hid = k;
      this.hay = parts.join('\n');
      this.starts = starts;
      this.size = rows.length;
      this.coll = coll;
      this.built = changes;
      this.warming = null;
    };
    setTimeout(step, 0);
  }

  // unindexed estimates how many rows of coll are missing from the index:
  // every put since the build may have added one.
  unindexed(coll) { return coll.changes - this.built; }

  // row returns the index position holding text offset p.
  row(p) {
    const s = this.starts;
    let lo = 0, hi = this.size; // s[lo] <= p < s[hi]
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (s[mid] <= p) lo = mid; else hi = mid;
    }
    return lo;
  }

  // matcher returns a predicate telling whether a row of coll contains
  // every term.
  matcher(coll, terms) {
    terms = Array.from(new Set(terms)).slice(0, MAX_TERMS);
    if (terms.length === 0) return () => true;
    this.prepare(coll);
    if (this.hits.length < this.size) this.hits = new Uint8Array(this.size);
    const hits = this.hits, hay = this.hay, starts = this.starts;
    hits.fill(0, 0, this.size);
    for (let ti = 0; ti < terms.length; ti++) {
      const t = terms[ti];
      let from = 0, p;
      while ((p = hay.indexOf(t, from)) >= 0) {
        const k = this.row(p);
        if (hits[k] === ti) hits[k] = ti + 1;
        from = starts[k + 1];
      }
    }
    const want = terms.length, size = this.size;
    return (r) => {
      const h = r.hid;
      if (h >= 0 && h < size && this.coll === coll) return hits[h] === want;
      const text = rowText(r);
      for (const t of terms) if (!text.includes(t)) return false;
      return true;
    };
  }
}
