// SpO₂ dashboard: one WebSocket, one in-memory model, one render per
// animation frame. Events only touch the model (a Map keyed by URL) and set
// dirty flags; the frame callback re-sorts (in place, nearly sorted, so cheap),
// filters and paints only the rows inside the viewport from a small pool of
// <tr> elements. The DOM stays at a few dozen rows whatever the fleet size.
'use strict';
(() => {
  const RANK = { unhealthy: 0, unreachable: 0, pending: 1, healthy: 2 };
  const STATES = ['unhealthy', 'unreachable', 'pending', 'healthy'];
  const OVERSCAN = 8;
  const MAX_DATA_TEXT = 400;
  const BACKOFF_MIN = 500, BACKOFF_MAX = 10000;
  const TOKEN_KEY = 'spo2.token';

  const $ = (id) => document.getElementById(id);
  const scroller = $('scroller'), table = $('grid'), tbody = $('rows');
  const padTop = $('pad-top'), padBottom = $('pad-bottom');
  const padTopCell = padTop.firstElementChild, padBottomCell = padBottom.firstElementChild;
  const connEl = $('conn'), connText = $('conn-text'), connWait = $('conn-wait'), retryBtn = $('retry');
  const summaryEl = $('summary'), emptyEl = $('empty'), qInput = $('q');
  const authDlg = $('auth'), authForm = $('auth-form'), authErr = $('auth-error'), tokenInput = $('token');
  const filterBtns = Array.from(document.querySelectorAll('.filters [data-filter]'));
  const countEls = { all: $('n-all') };
  for (const s of STATES) countEls[s] = $('n-' + s);

  // ---- model ---------------------------------------------------------------
  let rows = new Map();      // url -> row; what the page shows
  let staging = null;        // Map filled by snapshot events until "synced"
  let synced = false;
  const counts = { healthy: 0, unhealthy: 0, unreachable: 0, pending: 0 };

  let order = [];            // every row, sorted
  let view = [];             // rows passing the filters, sorted
  let membershipDirty = true, orderDirty = true, filterDirty = true;
  let touched = [];          // rows whose sort key changed since the last frame
  let mark = 0;              // frame stamp for touched rows

  const filter = { states: new Set(), terms: [] };

  // stats for the test hook
  let lastRenderMs = 0, renderMsTotal = 0, frames = 0, events = 0, messages = 0, applyMsTotal = 0;
  let connects = 0, openedAt = 0, snapshotMs = 0, syncRenderMs = 0, measureSync = false;

  const parseTime = (s) => {
    if (!s) return 0;
    const t = Date.parse(s);
    return Number.isFinite(t) && t > 946684800000 ? t : 0; // ignore Go zero times
  };

  // maskURL hides secrets in a URL for display: the password of its user
  // information (user:****@host) and the values of secret-looking query
  // parameters, as SpO₂'s logs do. Rows keep the URL itself as their key.
  const SECRET_PARAMS = new Set(['password', 'passwd', 'pwd', 'pass', 'token', 'access_token', 'auth',
    'secret', 'api_key', 'apikey', 'key', 'sig', 'signature']);
  function maskURL(raw) {
    let s = raw;
    const scheme = s.indexOf('://');
    const start = scheme >= 0 ? scheme + 3 : 0;
    let end = s.slice(start).search(/[/?#]/);
    end = end < 0 ? s.length : start + end;
    const at = s.lastIndexOf('@', end - 1);
    if (at >= start) {
      const colon = s.indexOf(':', start);
      if (colon >= 0 && colon < at) {
        s = s.slice(0, colon + 1) + '****' + s.slice(at);
        end = colon + 1 + 4 + (end - at);
      }
    }
    const q = s.indexOf('?', end);
    if (q < 0) return s;
    let frag = s.indexOf('#', q);
    if (frag < 0) frag = s.length;
    const pairs = s.slice(q + 1, frag).split('&').map((p) => {
      const eq = p.indexOf('=');
      return eq >= 0 && SECRET_PARAMS.has(p.slice(0, eq).toLowerCase()) ? p.slice(0, eq) + '=****' : p;
    });
    return s.slice(0, q + 1) + pairs.join('&') + s.slice(frag);
  }

  function compactValue(v) {
    if (v === null || v === undefined) return '';
    if (typeof v === 'string') return v;
    return JSON.stringify(v);
  }

  // compactData renders custom data as "key=value key=value" for objects and
  // as plain text or compact JSON otherwise.
  function compactData(d) {
    if (d === null || d === undefined) return '';
    let s;
    if (typeof d === 'object' && !Array.isArray(d)) {
      s = Object.keys(d).map((k) => k + '=' + compactValue(d[k])).join('  ');
    } else {
      s = compactValue(d);
    }
    return s.length > MAX_DATA_TEXT ? s.slice(0, MAX_DATA_TEXT) + '…' : s;
  }

  function setData(r, data) {
    r.data = data === undefined ? null : data;
    r.dataText = compactData(r.data);
    r.dataFull = r.data === null ? '' : JSON.stringify(r.data, null, 1);
    r.search = (r.shown + '\n' + r.dataText).toLowerCase();
  }

  function setStatus(r, st) {
    r.state = RANK[st.state] === undefined ? 'pending' : st.state;
    r.rank = RANK[r.state];
    r.code = st.code || 0;
    r.error = st.error || '';
    r.kind = st.error_kind || '';
    r.latency = typeof st.latency_ms === 'number' ? st.latency_ms : null;
  }

  // parseDur reads a Go duration string ("10s", "1m30s", "500ms") in ms.
  function parseDur(s) {
    if (typeof s !== 'string') return 0;
    const unit = { h: 3600000, m: 60000, s: 1000, ms: 1, us: 0.001, 'µs': 0.001, ns: 0.000001 };
    let total = 0, any = false;
    for (const m of s.matchAll(/([0-9.]+)(h|ms|m|s|us|µs|ns)/g)) { total += parseFloat(m[1]) * unit[m[2]]; any = true; }
    return any ? total : 0;
  }

  function rowFromRecord(rec) {
    const st = rec.status || {};
    const r = { url: rec.url, shown: maskURL(rec.url), probe: rec.probe || null, ver: 0 };
    r.interval = parseDur(r.probe && r.probe.interval);
    setData(r, rec.data);
    setStatus(r, st);
    r.since = parseTime(st.since);
    r.checked = parseTime(st.checked_at);
    return r;
  }

  function recount() {
    for (const s of STATES) counts[s] = 0;
    for (const r of rows.values()) counts[r.state]++;
  }

  function putRecord(target, rec, live) {
    if (!rec || typeof rec.url !== 'string') return;
    const old = target.get(rec.url);
    const r = rowFromRecord(rec);
    target.set(rec.url, r);
    if (live) {
      if (old) counts[old.state]--;
      counts[r.state]++;
      // A new object replaces the old one in the sorted array: rebuild.
      membershipDirty = true;
    }
    if (old) r.ver = old.ver + 1;
  }

  function applyStatus(target, e, live) {
    const r = target.get(e.url);
    if (!r) return;
    if (live) counts[r.state]--;
    setStatus(r, e);
    const at = parseTime(e.at);
    if (at) { r.since = at; r.checked = at; }
    r.ver++;
    if (live) {
      counts[r.state]++;
      orderDirty = true; filterDirty = true;
      if (r.mark !== mark + 1) { r.mark = mark + 1; touched.push(r); }
    }
  }

  function applyRemoved(target, e, live) {
    const r = target.get(e.url);
    if (!r) return;
    target.delete(e.url);
    if (live) { counts[r.state]--; membershipDirty = true; }
  }

  function handleEvents(list) {
    if (!Array.isArray(list)) list = [list];
    for (const e of list) {
      if (!e || typeof e !== 'object') continue;
      events++;
      const target = staging || rows;
      const live = target === rows;
      switch (e.type) {
        case 'snapshot':
          if (!staging) staging = new Map();
          putRecord(staging, e.record, false);
          break;
        case 'synced':
          if (staging) rows = staging;
          staging = null;
          recount();
          membershipDirty = true;
          synced = true;
          connects++;
          attempt = 0;
          measureSync = true;
          document.body.classList.remove('stale');
          setConn('live', 'Live');
          break;
        case 'registered': putRecord(target, e.record, live); break;
        case 'status': applyStatus(target, e, live); break;
        case 'removed': applyRemoved(target, e, live); break;
        default: break; // unknown events are ignored: newer servers may add some
      }
    }
    updateTitle();
    schedule();
  }

  // The title is refreshed in every frame and, at most four times a second,
  // from a timer too, so a background tab (where frames do not run) still
  // tells the story. Setting document.title per event would cost more than
  // applying the event.
  let lastTitle = '', titleTimer = 0;
  function updateTitle() {
    if (!titleTimer) titleTimer = setTimeout(flushTitle, 250);
  }
  function flushTitle() {
    clearTimeout(titleTimer);
    titleTimer = 0;
    const failing = counts.unhealthy + counts.unreachable;
    let t = failing > 0 ? '(' + failing + ' failing) SpO₂' : 'SpO₂';
    if (connState === 'reconnecting') t = '⟳ ' + t;
    if (t !== lastTitle) { document.title = t; lastTitle = t; }
  }

  // ---- sorting and filtering ------------------------------------------------
  // Failing first (unhealthy and unreachable together), then pending, then
  // healthy; inside a group the most recent change first; then by URL.
  function cmp(a, b) {
    return (a.rank - b.rank) || (b.since - a.since) || (a.url < b.url ? -1 : a.url > b.url ? 1 : 0);
  }

  // resort restores the order after status changes. Few rows moved: take
  // them out, sort them, and merge them back in one pass (O(n) with few
  // comparisons). Many moved: sort everything in place.
  function resort() {
    const stamp = mark + 1;
    if (touched.length === 0) return;
    if (touched.length * 4 > order.length) { order.sort(cmp); return; }
    const moved = touched.sort(cmp);
    const out = new Array(order.length);
    let i = 0, j = 0, k = 0;
    const n = order.length, m = moved.length;
    while (i < n) {
      const r = order[i];
      if (r.mark === stamp) { i++; continue; }
      while (j < m && cmp(moved[j], r) < 0) out[k++] = moved[j++];
      if (j === m) {
        // Only unmoved rows are left: copy them without comparing.
        for (; i < n; i++) if (order[i].mark !== stamp) out[k++] = order[i];
        break;
      }
      out[k++] = r;
      i++;
    }
    while (j < m) out[k++] = moved[j++];
    out.length = k;
    order = out;
  }

  function matches(r) {
    if (filter.states.size > 0 && !filter.states.has(r.state)) return false;
    for (const t of filter.terms) if (!r.search.includes(t)) return false;
    return true;
  }

  // ---- rendering ------------------------------------------------------------
  let rowH = 34, headH = 30;
  let rafPending = false;
  const pool = [];
  const shown = { total: -1, all: -1, summary: '', empty: '' };
  const shownCounts = {};

  function schedule() {
    if (!rafPending) { rafPending = true; requestAnimationFrame(frame); }
  }

  function frame() {
    rafPending = false;
    const t0 = performance.now();
    if (membershipDirty) {
      order = Array.from(rows.values());
      order.sort(cmp);
      membershipDirty = false; orderDirty = false; filterDirty = true;
    } else if (orderDirty) {
      resort();
      orderDirty = false; filterDirty = true;
    }
    touched = [];
    mark++;
    if (filterDirty) {
      view = (filter.states.size || filter.terms.length) ? order.filter(matches) : order;
      filterDirty = false;
    }
    paintHeader();
    paintRows();
    flushTitle();
    const t1 = performance.now();
    lastRenderMs = t1 - t0;
    renderMsTotal += lastRenderMs;
    frames++;
    if (measureSync) {
      measureSync = false;
      syncRenderMs = lastRenderMs;
      snapshotMs = t1 - openedAt;
    }
  }

  function paintHeader() {
    const all = rows.size;
    if (shownCounts.all !== all) { countEls.all.textContent = all.toLocaleString(); shownCounts.all = all; }
    for (const s of STATES) {
      if (shownCounts[s] !== counts[s]) { countEls[s].textContent = counts[s].toLocaleString(); shownCounts[s] = counts[s]; }
    }
    const filtered = filter.states.size || filter.terms.length;
    const summary = (!synced && all === 0) ? ''
      : filtered ? 'Showing ' + view.length.toLocaleString() + ' of ' + all.toLocaleString() + ' URLs'
      : all.toLocaleString() + (all === 1 ? ' URL' : ' URLs') + ' · failing first, then most recent change';
    if (summary !== shown.summary) { summaryEl.textContent = summary; shown.summary = summary; }
    let empty = '';
    if (view.length === 0) {
      if (!synced && all === 0) empty = 'Waiting for data…';
      else if (all === 0) empty = 'No URLs registered yet. Register one with PUT /?url=…';
      else empty = 'No URL matches the filter.';
    }
    if (empty !== shown.empty) { emptyEl.textContent = empty; emptyEl.hidden = empty === ''; shown.empty = empty; }
    if (shown.total !== view.length) { table.setAttribute('aria-rowcount', String(view.length + 1)); shown.total = view.length; }
  }

  function makeTr() {
    const tr = document.createElement('tr');
    tr.className = 'r';
    for (const cls of ['state', 'url', 'result', 'lat num', 'since', 'data', 'check']) {
      const td = document.createElement('td');
      td.className = cls;
      tr.appendChild(td);
    }
    const badge = document.createElement('span');
    badge.className = 'badge';
    tr.cells[0].appendChild(badge);
    const c = tr.cells;
    tr._c = { badge, url: c[1], result: c[2], lat: c[3], since: c[4], data: c[5], check: c[6] };
    tr._row = null; tr._ver = -1; tr._idx = -1; tr._since = null; tr._check = null;
    return tr;
  }

  function paintRows() {
    const total = view.length;
    const viewH = Math.max(scroller.clientHeight - headH, rowH);
    const top = Math.max(0, scroller.scrollTop - headH);
    let first = Math.max(0, Math.floor(top / rowH) - OVERSCAN);
    const last = Math.min(total, Math.ceil((top + viewH) / rowH) + OVERSCAN);
    if (first > last) first = last;
    const n = last - first;
    while (pool.length < n) { const tr = makeTr(); tbody.insertBefore(tr, padBottom); pool.push(tr); }
    while (pool.length > n) pool.pop().remove();
    padTopCell.style.height = (first * rowH) + 'px';
    padBottomCell.style.height = ((total - last) * rowH) + 'px';
    padTop.hidden = first === 0;
    padBottom.hidden = total === last;
    const now = Date.now();
    for (let i = 0; i < n; i++) fill(pool[i], view[first + i], first + i, now);
    if (n > 0 && measureRow) measure();
  }

  let measureRow = true;
  function measure() {
    measureRow = false;
    const h = pool[0].getBoundingClientRect().height;
    const hh = table.tHead.getBoundingClientRect().height;
    if (h > 0 && (Math.abs(h - rowH) > 0.1 || Math.abs(hh - headH) > 0.1)) {
      rowH = h; headH = hh;
      schedule();
    }
  }

  function fill(tr, r, idx, now) {
    const c = tr._c;
    if (tr._idx !== idx) { tr.setAttribute('aria-rowindex', String(idx + 2)); tr._idx = idx; }
    if (tr._row !== r || tr._ver !== r.ver) {
      tr._row = r; tr._ver = r.ver;
      tr.dataset.url = r.url;
      tr.dataset.state = r.state;
      c.badge.textContent = r.state;
      c.url.textContent = r.shown;
      c.url.title = r.shown;
      renderResult(c.result, r);
      c.lat.textContent = r.latency === null || (r.state === 'pending' && !r.checked) ? '—' : fmtLatency(r.latency);
      c.data.textContent = r.dataText || '—';
      c.data.title = r.dataFull;
      c.since.title = r.since ? r.state + ' since ' + new Date(r.since).toLocaleString() : '';
      tr._since = null; tr._check = null;
    }
    const since = r.since ? fmtDur(now - r.since) : '—';
    if (since !== tr._since) { c.since.textContent = since; tr._since = since; }
    const check = checkText(r, now);
    if (check !== tr._check) {
      c.check.textContent = check;
      tr._check = check;
      c.check.title = !r.checked ? 'not checked yet'
        : 'last reported check: ' + new Date(r.checked).toLocaleString() +
          (r.interval ? ' · probed every ' + fmtDur(r.interval) : '');
    }
  }

  function renderResult(td, r) {
    td.textContent = '';
    let title = '';
    if (r.state === 'unreachable' || (r.error && !r.code)) {
      if (r.kind) {
        const k = document.createElement('span');
        k.className = 'kind';
        k.textContent = r.kind;
        td.appendChild(k);
      }
      td.appendChild(document.createTextNode(r.error || 'no answer'));
      title = r.error;
    } else if (r.code) {
      td.textContent = 'HTTP ' + r.code;
      title = 'answered HTTP ' + r.code;
    } else {
      td.textContent = '—';
    }
    td.title = title;
  }

  // checkText says when the URL was last probed. The snapshot carries the
  // exact time; afterwards only state changes are streamed, so while the
  // page is live a URL in a steady state is known to have been probed within
  // its interval ("≤ 10s ago"). Once the connection is lost, the page shows
  // the last time it knows for sure.
  function checkText(r, now) {
    if (!r.checked) return 'never';
    const ago = now - r.checked;
    if (synced && r.interval && ago > r.interval + 2000) return '≤ ' + fmtDur(r.interval) + ' ago';
    return fmtAgo(ago);
  }

  function fmtLatency(ms) {
    if (ms < 10) return ms.toFixed(1) + ' ms';
    if (ms < 1000) return Math.round(ms) + ' ms';
    return (ms / 1000).toFixed(2) + ' s';
  }

  function fmtDur(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + 's';
    const m = Math.floor(s / 60);
    if (m < 60) return m + 'm';
    const h = Math.floor(m / 60);
    if (h < 24) return h + 'h ' + (m % 60) + 'm';
    const d = Math.floor(h / 24);
    return d + 'd ' + (h % 24) + 'h';
  }

  function fmtAgo(ms) {
    if (ms < 1000) return 'just now';
    return fmtDur(ms) + ' ago';
  }

  // ---- filters --------------------------------------------------------------
  function applyFilterUI() {
    for (const b of filterBtns) {
      const f = b.dataset.filter;
      const on = f === 'all' ? filter.states.size === 0 : filter.states.has(f);
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
    }
  }

  function filtersChanged() {
    applyFilterUI();
    filterDirty = true;
    scroller.scrollTop = 0;
    saveHash();
    schedule();
  }

  for (const b of filterBtns) {
    b.addEventListener('click', () => {
      const f = b.dataset.filter;
      if (f === 'all') filter.states.clear();
      else if (filter.states.has(f)) filter.states.delete(f);
      else filter.states.add(f);
      filtersChanged();
    });
  }

  function setQuery(q) {
    filter.terms = q.toLowerCase().split(/\s+/).filter(Boolean);
  }
  qInput.addEventListener('input', () => { setQuery(qInput.value); filtersChanged(); });
  qInput.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && qInput.value) { qInput.value = ''; setQuery(''); filtersChanged(); e.preventDefault(); }
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === '/' && !e.ctrlKey && !e.metaKey && !e.altKey) {
      const t = e.target;
      if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || (t && t.isContentEditable)) return;
      e.preventDefault();
      qInput.focus();
      qInput.select();
    }
  });

  // Filters live in the fragment (#state=unhealthy,unreachable&q=movies), so
  // a filtered view can be bookmarked or shared. The fragment never reaches
  // the server and does not change where ../ws points.
  function saveHash() {
    const p = new URLSearchParams();
    if (filter.states.size) p.set('state', Array.from(filter.states).join(','));
    if (qInput.value) p.set('q', qInput.value);
    const h = p.toString();
    history.replaceState(null, '', h ? '#' + h : location.pathname + location.search);
  }

  function loadHash() {
    const p = new URLSearchParams(location.hash.slice(1));
    filter.states.clear();
    for (const s of (p.get('state') || '').split(',')) if (RANK[s] !== undefined) filter.states.add(s);
    qInput.value = p.get('q') || '';
    setQuery(qInput.value);
    applyFilterUI();
    filterDirty = true;
  }
  window.addEventListener('hashchange', () => { loadHash(); schedule(); });

  scroller.addEventListener('scroll', schedule, { passive: true });
  window.addEventListener('resize', () => { measureRow = true; schedule(); });
  // Durations ("for 3m", "12s ago") move with the clock: repaint the visible
  // rows once a second. Only text that changed touches the DOM.
  setInterval(schedule, 1000);

  // ---- connection -----------------------------------------------------------
  let sock = null, attempt = 0, retryTimer = 0, countdownTimer = 0, retryAt = 0;
  let connState = 'connecting';
  let token = '';
  try { token = sessionStorage.getItem(TOKEN_KEY) || ''; } catch (_) { token = ''; }

  // setConn shows the connection state. text is announced (polite live
  // region); wait, a countdown, is shown but not announced every second.
  function setConn(state, text, wait) {
    connState = state;
    connEl.dataset.conn = state;
    if (connText.textContent !== text) connText.textContent = text;
    connWait.textContent = wait || '';
    retryBtn.hidden = !(state === 'reconnecting' || state === 'auth');
    retryBtn.textContent = state === 'auth' ? 'Enter token' : 'Retry now';
    flushTitle();
  }

  function endpoint(scheme) {
    const u = new URL('../ws', location.href);
    u.protocol = scheme;
    u.hash = '';
    u.search = '';
    if (token) u.searchParams.set('token', token);
    return u.toString();
  }

  function connect() {
    clearTimeout(retryTimer);
    clearInterval(countdownTimer);
    if (sock) { const old = sock; sock = null; try { old.close(); } catch (_) { /* ignore */ } }
    if (attempt > 0) setConn('reconnecting', 'Reconnecting…');
    else if (!synced) setConn('connecting', 'Connecting…');
    let ws;
    try {
      ws = new WebSocket(endpoint(location.protocol === 'https:' ? 'wss:' : 'ws:'));
    } catch (_) {
      scheduleReconnect();
      return;
    }
    sock = ws;
    let opened = false;
    ws.onopen = () => {
      if (sock !== ws) return;
      opened = true;
      openedAt = performance.now();
      staging = new Map();
      setConn(attempt > 0 ? 'reconnecting' : 'connecting', 'Syncing…');
    };
    ws.onmessage = (ev) => {
      if (sock !== ws) return;
      messages++;
      const t0 = performance.now();
      let list;
      try { list = JSON.parse(ev.data); } catch (_) { return; }
      handleEvents(list);
      applyMsTotal += performance.now() - t0;
    };
    ws.onclose = () => {
      if (sock !== ws) return;
      sock = null;
      staging = null;
      synced = false;
      document.body.classList.add('stale');
      if (!opened) checkAuth();
      else scheduleReconnect();
    };
  }

  // A refused WebSocket handshake does not tell the page why. Ask the same
  // endpoint over plain HTTP: 401 means the token is missing or wrong.
  function checkAuth() {
    fetch(endpoint(location.protocol), { cache: 'no-store', credentials: 'omit' })
      .then((res) => {
        if (res.status === 401) askToken(token ? 'The server rejected this token.' : '');
        else scheduleReconnect();
      })
      .catch(() => scheduleReconnect());
  }

  function scheduleReconnect() {
    attempt++;
    const base = Math.min(BACKOFF_MAX, BACKOFF_MIN * Math.pow(2, attempt - 1));
    const delay = Math.round(base * (0.5 + Math.random() * 0.5));
    retryAt = Date.now() + delay;
    const tick = () => {
      const left = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
      setConn('reconnecting', 'Reconnecting (attempt ' + attempt + ')', left > 0 ? ' in ' + left + 's' : '…');
    };
    tick();
    clearInterval(countdownTimer);
    countdownTimer = setInterval(tick, 1000);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delay);
  }

  retryBtn.addEventListener('click', () => {
    if (connState === 'auth') askToken('');
    else connect();
  });

  function askToken(msg) {
    clearTimeout(retryTimer);
    clearInterval(countdownTimer);
    setConn('auth', 'Token required');
    authErr.textContent = msg;
    authErr.hidden = !msg;
    tokenInput.value = '';
    if (!authDlg.open) authDlg.showModal();
    tokenInput.focus();
  }

  authForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = tokenInput.value.trim();
    if (!v) return;
    token = v;
    try { sessionStorage.setItem(TOKEN_KEY, token); } catch (_) { /* private mode */ }
    authDlg.close();
    attempt = 0;
    connect();
  });

  // ---- test and measurement hook (read-only) ---------------------------------
  window.spo2 = Object.freeze({
    /** number of URLs known to the page */
    rows: () => rows.size,
    /** number of URLs passing the current filters */
    visible: () => view.length,
    /** true while the page holds a complete, live copy of the server's state */
    get synced() { return synced; },
    /** connection state: connecting, live, reconnecting or auth */
    get conn() { return connState; },
    /** JS time of the last frame (sort, filter, paint), ms */
    get renderMs() { return lastRenderMs; },
    /** socket open → snapshot rendered, ms (last sync) */
    get snapshotMs() { return snapshotMs; },
    /** JS time of the frame that rendered the last snapshot, ms */
    get syncRenderMs() { return syncRenderMs; },
    /** successful syncs since the page loaded */
    get connects() { return connects; },
    /** URLs in display order after filters (first n) */
    order: (n) => view.slice(0, n === undefined ? view.length : n).map((r) => r.url),
    /** the state of one URL as the page knows it, or null */
    state: (url) => { const r = rows.get(url); return r ? r.state : null; },
    /** cumulative counters */
    stats: () => ({ frames, renderMsTotal, events, messages, applyMsTotal, domRows: pool.length }),
  });

  loadHash();
  schedule();
  connect();
})();
