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
