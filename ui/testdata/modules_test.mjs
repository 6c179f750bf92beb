// Checks of the dashboard's model, index and grouping, run by Node on the
// very modules the browser loads (go test ./ui runs it; see modules_test.go).
// Each check throws on a failure; the process exits non-zero.
import { strict as assert } from 'node:assert';

const dir = process.argv[2];
const { Store, Coll, cmp } = await import(dir + '/store.js');
const { SearchIndex, rowText } = await import(dir + '/search.js');
const { group, errorKey } = await import(dir + '/groups.js');
const { maskURL, hostOf, fmtDur, compactData } = await import(dir + '/format.js');

let seed = 7;
const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const drain = () => new Promise((r) => setTimeout(r, 0));
async function settle(s) { while (s.pumping) await drain(); }

const record = (i, state, since) => ({
  url: `http://h${i % 3}.example:${8000 + (i % 2)}/svc/${i}`,
  data: { customer: 'cust-' + i, pod: 'pod-' + (i % 11) },
  labels: i % 2 ? { team: 'search' } : { team: 'ads', tier: 'gold' },
  probe: { interval: '10s', timeout: '5s', failure_threshold: 3, success_threshold: 1, expect: '200-399' },
  status: { state, code: state === 'unhealthy' ? 503 : 200, since: new Date(since).toISOString() },
});

async function loaded(n) {
  const s = new Store(() => {});
  s.begin();
  const now = Date.parse('2026-11-30T12:00:00Z');
  const frame = [];
  for (let i = 0; i < n; i++) frame.push({ type: 'snapshot', seq: 5, record: record(i, i % 9 === 0 ? 'unhealthy' : 'healthy', now - i * 1000) });
  for (let i = 0; i < n; i += 300) s.push(JSON.stringify(frame.slice(i, i + 300)));
  s.push(JSON.stringify([{ type: 'synced', seq: 6 }]));
  await settle(s);
  s.shown.settle();
  return s;
}

function check(name, fn) { return Promise.resolve(fn()).then(() => console.log('ok', name)); }

await check('the merged order equals a full sort after random changes, removals and re-registrations', async () => {
  const s = await loaded(3000);
  assert.equal(s.synced, true);
  assert.equal(s.shown.order.length, 3000);
  let t = Date.parse('2026-11-30T13:00:00Z');
  const states = ['healthy', 'unhealthy', 'unreachable', 'pending', 'paused', 'weird'];
  for (let round = 0; round < 200; round++) {
    const batch = [];
    for (let k = rand(round % 20 === 0 ? 1500 : 40); k >= 0; k--) {
      const i = rand(3200);
      const url = record(i, 'healthy', 0).url;
      const what = rand(20);
      t += rand(3) * 500;
      if (what === 0) batch.push({ type: 'removed', url });
      else if (what === 1) batch.push({ type: 'registered', record: record(i, states[rand(6)], t - rand(5000)) });
      else batch.push({ type: 'status', url, state: states[rand(6)], code: 500, at: new Date(t - rand(3) * 1000).toISOString() });
    }
    s.push(JSON.stringify(batch));
    if (round % 3 === 0) { await settle(s); s.shown.settle(); }
  }
  await settle(s);
  s.shown.settle();
  const want = Array.from(s.shown.map.values()).sort(cmp);
  assert.equal(s.shown.order.length, want.length);
  for (let i = 0; i < want.length; i++) assert.equal(s.shown.order[i], want[i], 'order differs at ' + i);
  const counted = {};
  for (const r of want) counted[r.state] = (counted[r.state] || 0) + 1;
  for (const st of ['healthy', 'unhealthy', 'unreachable', 'pending', 'paused']) assert.equal(s.counts[st], counted[st] || 0, st);
  assert.equal(s.counts.other, counted.weird || 0);
});

await check('the text index finds exactly what a scan finds, also for rows added or replaced after it was built', async () => {
  const s = await loaded(2000);
  const ix = new SearchIndex();
  ix.prepare(s.shown);
  s.push(JSON.stringify([
    { type: 'registered', record: Object.assign(record(5000, 'healthy', 0), { data: { customer: 'late-one' } }) },
    { type: 'registered', record: Object.assign(record(7, 'healthy', 0), { data: { customer: 'renamed-seven' } }) },
    { type: 'removed', url: record(8, 'healthy', 0).url },
  ]));
  await settle(s);
  s.shown.settle();
  for (const q of [['cust-1'], ['pod-3', 'h1.example'], ['late-one'], ['renamed-seven'], ['cust-7'], ['cust-8'], ['svc/19', 'cust-19'], ['nothing-here'], ['/SVC/2'.toLowerCase()]]) {
    const m = ix.matcher(s.shown, q);
    const got = s.shown.order.filter(m).map((r) => r.url);
    const want = s.shown.order.filter((r) => q.every((t) => rowText(r).includes(t))).map((r) => r.url);
    assert.deepEqual(got, want, 'query ' + q.join(' '));
  }
});

await check('groups count rows and failing rows, most failing first', async () => {
  const s = await loaded(90);
  const byHost = group(s.shown.order, 'host').map((g) => [g.key, g.rows.length, g.failing]);
  assert.deepEqual(byHost, [['h0.example:8000', 15, 5], ['h0.example:8001', 15, 5], ['h1.example:8000', 15, 0], ['h1.example:8001', 15, 0], ['h2.example:8000', 15, 0], ['h2.example:8001', 15, 0]]);
  const byError = group(s.shown.order, 'error').map((g) => [g.key, g.rows.length, g.failing]);
  assert.deepEqual(byError, [['HTTP 503', 10, 10], ['healthy', 80, 0]]);
  const byTeam = group(s.shown.order, 'label:team').map((g) => [g.key, g.rows.length, g.failing]);
  assert.deepEqual(byTeam, [['team=ads', 45, 5], ['team=search', 45, 5]]);
  const byTier = group(s.shown.order, 'label:tier').map((g) => [g.key, g.rows.length]);
  assert.deepEqual(byTier, [['no tier', 45], ['tier=gold', 45]]);
  assert.equal(errorKey({ state: 'unreachable', code: 0, error: 'dial', kind: 'refused' }), 'REFUSED');
});

await check('a reconnect that resumes keeps the rows; one that gets a snapshot replaces them', async () => {
  const s = await loaded(10);
  assert.equal(s.lastSeq, 6);
  assert.equal(s.seqSeen, true);
  s.end();
  s.begin();
  assert.equal(s.loading, false);
  s.push(JSON.stringify([{ type: 'status', seq: 7, url: record(1, 'healthy', 0).url, state: 'unhealthy', code: 503, at: '2026-11-30T14:00:00Z' }, { type: 'synced', seq: 7 }]));
  await settle(s);
  assert.equal(s.resumed, 1);
  assert.equal(s.snapshots, 1);
  assert.equal(s.shown.map.size, 10);
  assert.equal(s.shown.map.get(record(1, 'healthy', 0).url).state, 'unhealthy');
  assert.equal(s.lastSeq, 7);
  s.end();
  s.begin();
  s.push(JSON.stringify([{ type: 'snapshot', seq: 2, record: record(100, 'healthy', 0) }]));
  await settle(s);
  assert.equal(s.shown.map.size, 10, 'the old rows stay until synced');
  assert.equal(s.loading, true);
  s.push(JSON.stringify([{ type: 'synced', seq: 3 }]));
  await settle(s);
  assert.deepEqual(Array.from(s.shown.map.keys()), [record(100, 'healthy', 0).url]);
  assert.equal(s.lastSeq, 3, 'a new snapshot starts the numbering afresh');
  assert.equal(s.snapshots, 2);
});

// compactFrames encodes records as a server's compact snapshot does: each
// record an array in the documented order, shared values in a table sent
// once across frames, times in ms.
function compactFrames(recs, perFrame, seq) {
  const table = [], index = new Map(), frames = [];
  const ix = (kind, v) => {
    const k = kind + JSON.stringify(v);
    if (!index.has(k)) { index.set(k, table.length); table.push(v); }
    return index.get(k);
  };
  const ms = (t) => (t ? Date.parse(t) : null);
  for (let i = 0; i < recs.length; i += perFrame) {
    const at = table.length;
    const rows = recs.slice(i, i + perFrame).map((r) => {
      const st = r.status;
      return [r.url, r.data === undefined ? null : r.data, ix('p', r.probe), ix('l', r.labels || {}), ms(r.expires_at), r.silenced ? 1 : 0,
        r.uptime ? [r.uptime['24h'], r.uptime['7d']] : null, ix('s', st.state), st.code || 0, ix('s', st.error || ''), ix('s', st.error_kind || ''),
        st.latency_ms === undefined ? null : st.latency_ms, ms(st.checked_at), ms(st.since), ms(r.created_at), ms(r.updated_at)];
    });
    const evs = [{ type: 'records', seq, table_at: at, table: table.slice(at), records: rows }];
    if (i + perFrame >= recs.length) evs.push({ type: 'synced', seq });
    frames.push(JSON.stringify(evs));
  }
  return frames;
}

await check('a compact snapshot gives the same rows as snapshot events', async () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  const recs = [];
  for (let i = 0; i < 2500; i++) {
    const r = record(i, ['unhealthy', 'unreachable', 'healthy', 'paused', 'pending'][i % 5], now - i * 1000);
    if (i % 5 === 1) Object.assign(r.status, { code: 0, error: 'connection refused', error_kind: 'refused' });
    if (i % 5 !== 4) Object.assign(r.status, { latency_ms: 0.4 + i / 7, checked_at: new Date(now - i).toISOString() });
    if (i % 3 === 0) r.uptime = { '24h': 0.998958, '7d': 1 };
    if (i % 7 === 0) r.expires_at = new Date(now + 3600000).toISOString();
    if (i % 11 === 0) r.silenced = true;
    if (i % 13 === 0) { r.data = null; r.labels = {}; }
    if (i % 17 === 0) r.data = 'plain text';
    recs.push(r);
  }
  const events = new Store(() => {}), compact = new Store(() => {});
  events.begin(); compact.begin();
  for (let i = 0; i < recs.length; i += 1000) events.push(JSON.stringify(recs.slice(i, i + 1000).map((record) => ({ type: 'snapshot', seq: 9, record }))));
  events.push(JSON.stringify([{ type: 'synced', seq: 9 }]));
  for (const f of compactFrames(recs, 1000, 9)) compact.push(f);
  await settle(events); await settle(compact);
  assert.equal(compact.synced, true);
  assert.equal(compact.lastSeq, 9);
  assert.equal(compact.snapshots, 1);
  assert.equal(compact.shown.map.size, recs.length);
  assert.deepEqual(compact.counts, events.counts);
  const fields = ['url', 'shown', 'dataText', 'labelsKey', 'labels', 'interval', 'silenced', 'uptime', 'expires',
    'state', 'rank', 'code', 'error', 'kind', 'latency', 'since', 'checked'];
  for (const [url, want] of events.shown.map) {
    const got = compact.shown.map.get(url);
    assert.ok(got, url);
    for (const f of fields) assert.deepEqual(got[f], want[f], url + ' ' + f);
    assert.deepEqual(got.probe, want.probe, url + ' probe');
  }
  // A record that is not an array is skipped; the others still load.
  const s = new Store(() => {});
  s.begin();
  s.push(JSON.stringify([{ type: 'records', seq: 1, table_at: 0, table: ['healthy', {}, recs[0].probe, ''],
    records: [null, ['http://a/', null, 2, 1, null, 0, null, 0, 200, 3, 3, 1.5, 1764504000000, 1764504000000, 0, 0]] }, { type: 'synced', seq: 1 }]));
  await settle(s);
  assert.deepEqual(Array.from(s.shown.map.keys()), ['http://a/']);
  assert.equal(s.shown.map.get('http://a/').latency, 15);
  // A later event replaces a row of the compact snapshot as usual.
  compact.push(JSON.stringify([{ type: 'status', seq: 10, url: recs[2].url, state: 'unhealthy', code: 500, at: '2026-11-30T14:00:00Z' }]));
  await settle(compact);
  assert.equal(compact.shown.map.get(recs[2].url).state, 'unhealthy');
});

await check('formatting', () => {
  assert.equal(maskURL('https://user:pw@host/p?token=abc&x=1'), 'https://user:****@host/p?token=****&x=1');
  const plain = 'http://host/a?b=c';
  assert.equal(maskURL(plain), plain);
  assert.equal(hostOf('http://user:pw@h.example:81/x?y#z'), 'h.example:81');
  assert.equal(hostOf('https://h.example'), 'h.example');
  assert.equal(fmtDur(59000), '59s');
  assert.equal(fmtDur(3 * 3600000 + 5 * 60000), '3h 5m');
  assert.equal(compactData({ a: 1, b: 'x' }), 'a=1  b=x');
});

// The model's MessageChannel keeps Node's event loop alive: end here.
process.exit(0);
