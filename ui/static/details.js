// The details panel: everything the page knows about one URL, its custom
// data and last state changes fetched from the API, and the actions the
// API offers (pause, silence, remove), behind the token. Opened from a row
// by click, touch or Enter; closed by Escape or its close button.
import { fmtDur, fmtLatency, fmtPercent, parseTime } from './format.js';
import { errorKey } from './groups.js';
import { checkText } from './table.js';

const HISTORY_SHOWN = 20;
const CONFIRM_MS = 5000;

export class Details {
  constructor(store, stream, els) {
    this.store = store;
    this.stream = stream;
    this.els = els;
    this.url = '';
    this.row = null;
    this.ver = -1;
    this.confirmUntil = 0;
    this.silence = null;
    this.bind();
  }

  bind() {
    const e = this.els;
    e.close.addEventListener('click', () => e.dlg.close());
    e.dlg.addEventListener('close', () => { this.url = ''; this.row = null; });
    e.pause.addEventListener('click', () => this.pause());
    e.silence.addEventListener('click', () => this.silenceURL());
    e.remove.addEventListener('click', () => this.remove());
  }

  get isOpen() { return this.els.dlg.open; }

  open(row) {
    this.url = row.url;
    this.row = row;
    this.ver = -1;
    this.confirmUntil = 0;
    this.silence = null;
    const e = this.els;
    e.msg.textContent = '';
    e.remove.textContent = 'Remove…';
    e.reason.value = '';
    e.data.textContent = row.dataText || '—';
    e.history.textContent = 'Loading…';
    this.refresh();
    if (!e.dlg.open) e.dlg.showModal();
    e.close.focus();
    this.loadData(row.url);
    this.loadHistory(row.url);
    if (row.silenced) this.loadSilence(row);
  }

  // refresh repaints the fields when the row changed (called every frame
  // while open, cheap when nothing changed).
  refresh() {
    if (!this.isOpen && this.row === null) return;
    const cur = this.store.shown.map.get(this.url) || this.row;
    if (cur === this.row && cur.ver === this.ver && this.ver !== -1 && Date.now() - this.paintedAt < 1000) return;
    this.row = cur; this.ver = cur.ver; this.paintedAt = Date.now();
    const r = cur, e = this.els, now = Date.now();
    e.title.textContent = r.gone ? 'Removed URL' : 'URL details';
    e.url.textContent = r.shown;
    e.dlg.dataset.state = r.gone ? 'removed' : r.state;
    const fields = [
      ['State', (r.gone ? 'removed' : r.state) + (r.since ? ' for ' + fmtDur(now - r.since) + ' (since ' + new Date(r.since).toLocaleString() + ')' : '')],
      ['Code / error', errorKey(r) === r.state ? (r.code ? 'HTTP ' + r.code : '—') : errorKey(r) + (r.error ? ': ' + r.error : '')],
      ['Latency', r.latency < 0 ? '—' : fmtLatency(r.latency / 10)],
      ['Last check', checkText(r, now, this.store.synced) + (r.checked ? ' (' + new Date(r.checked).toLocaleString() + ')' : '')],
    ];
    const probe = r.probe;
    if (probe) {
      fields.push(['Probe', ['interval ' + probe.interval, 'timeout ' + probe.timeout,
        'unhealthy after ' + probe.failure_threshold, 'healthy after ' + probe.success_threshold, 'expect ' + probe.expect].join(' · ')]);
    }
    fields.push(['Labels', r.labelsKey ? r.labelsKey.split(',').join('  ') : 'none']);
    if (r.uptime) fields.push(['Uptime', '24 h: ' + fmtPercent(r.uptime[0]) + ' · 7 d: ' + fmtPercent(r.uptime[1])]);
    fields.push(['Silenced', r.silenced ? 'yes — no Slack message while it lasts' + (this.silence ? silenceText(this.silence) : '') : 'no']);
    if (r.expires) fields.push(['Expires', new Date(r.expires).toLocaleString() + ' unless renewed']);
    e.fields.textContent = '';
    for (const [k, v] of fields) {
      const dt = document.createElement('dt'), dd = document.createElement('dd');
      dt.textContent = k; dd.textContent = v;
      e.fields.append(dt, dd);
    }
    e.pause.textContent = r.state === 'paused' ? 'Resume probing' : 'Pause probing';
    for (const b of [e.pause, e.silence, e.remove]) b.disabled = r.gone;
  }

  async loadData(url) {
    try {
      const res = await this.stream.api('GET', '?url=' + encodeURIComponent(url));
      if (this.url !== url || res.status !== 200) return;
      this.els.data.textContent = res.body === null ? 'null' : JSON.stringify(res.body, null, 2);
    } catch (_) { /* keep the compact text */ }
  }

  async loadHistory(url) {
    const h = this.els.history;
    let res;
    try { res = await this.stream.api('GET', 'history?url=' + encodeURIComponent(url)); } catch (_) { res = null; }
    if (this.url !== url) return;
    if (!res || res.status !== 200 || !Array.isArray(res.body)) {
      h.textContent = 'History unavailable' + (res ? ' (HTTP ' + res.status + ')' : '') + '.';
      return;
    }
    h.textContent = '';
    if (res.body.length === 0) { h.textContent = 'No state change recorded yet.'; return; }
    const ol = document.createElement('ol');
    ol.className = 'changes';
    const now = Date.now();
    for (const c of res.body.slice(0, HISTORY_SHOWN)) {
      const li = document.createElement('li');
      const at = parseTime(c.at);
      const what = c.error_kind ? String(c.error_kind).toUpperCase() : c.code ? 'HTTP ' + c.code : '';
      li.textContent = (c.previous ? c.previous + ' → ' : '') + c.state + (what ? ' · ' + what : '') +
        (at ? ' · ' + fmtDur(now - at) + ' ago (' + new Date(at).toLocaleString() + ')' : '');
      li.dataset.state = c.state;
      ol.appendChild(li);
    }
    h.appendChild(ol);
    if (res.body.length > HISTORY_SHOWN) {
      const p = document.createElement('p');
      p.textContent = 'The last ' + HISTORY_SHOWN + ' of ' + res.body.length + ' changes.';
      h.appendChild(p);
    }
  }

  async loadSilence(row) {
    let res;
    try { res = await this.stream.api('GET', 'silences'); } catch (_) { return; }
    if (this.url !== row.url || res.status !== 200) return;
    const list = Array.isArray(res.body) ? res.body : (res.body && Array.isArray(res.body.silences) ? res.body.silences : []);
    this.silence = list.find((s) => s.url === row.url || (s.labels && selects(s.labels, row.labels))) || null;
    this.ver = -1;
    this.refresh();
  }

  say(text) { this.els.msg.textContent = text; }

  async act(what, method, path, body, done) {
    this.say(what + '…');
    let res;
    try { res = await this.stream.api(method, path, body); } catch (err) { this.say(what + ' failed: ' + err.message); return; }
    if (res.status >= 200 && res.status < 300) { this.say(done); return res; }
    const why = res.body && res.body.error ? res.body.error : 'HTTP ' + res.status;
    if (res.status === 401) this.say(what + ': the API token is required; enter it and try again.');
    else if (res.status === 404 || res.status === 405 || (res.status === 400 && /unknown|pause|not allowed/i.test(why))) this.say(what + ' is not available on this server (' + why + ').');
    else this.say(what + ' failed: ' + why);
    return null;
  }

  pause() {
    const r = this.row;
    const resume = r.state === 'paused';
    this.act(resume ? 'Resume' : 'Pause', 'PUT', '?url=' + encodeURIComponent(r.url) + '&pause=' + (resume ? 'false' : 'true'), undefined,
      resume ? 'Resumed: probing again.' : 'Paused: not probed until resumed.');
  }

  async silenceURL() {
    const r = this.row;
    const reason = this.els.reason.value.trim() || 'silenced from the dashboard';
    const res = await this.act('Silence', 'POST', 'silences', { url: r.url, duration: '1h', reason }, 'Silenced for 1 hour.');
    if (res && res.body && typeof res.body === 'object') { this.silence = res.body; this.ver = -1; this.refresh(); }
  }

  remove() {
    const r = this.row;
    if (Date.now() > this.confirmUntil) {
      this.confirmUntil = Date.now() + CONFIRM_MS;
      this.els.remove.textContent = 'Confirm removal';
      this.say('Press “Confirm removal” to stop watching this URL.');
      return;
    }
    this.confirmUntil = 0;
    this.els.remove.textContent = 'Remove…';
    this.act('Remove', 'DELETE', '?url=' + encodeURIComponent(r.url), undefined, 'Removed.');
  }
}

function silenceText(s) {
  const parts = [];
  if (s.reason) parts.push('reason: ' + s.reason);
  const end = parseTime(s.ends_at);
  if (end) parts.push('until ' + new Date(end).toLocaleString());
  return parts.length ? ' (' + parts.join(', ') + ')' : '';
}

// selects tells whether a "k=v,k=v" selector matches labels.
function selects(sel, labels) {
  return String(sel).split(',').every((p) => {
    const eq = p.indexOf('=');
    return eq > 0 && labels[p.slice(0, eq).trim()] === p.slice(eq + 1).trim();
  });
}
