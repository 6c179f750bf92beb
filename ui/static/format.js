// Pure formatting: how a URL, custom data, a duration or a time is shown.
// Nothing here touches the DOM or the model.

// parseTime reads an RFC 3339 time in ms since the epoch; 0 for none (Go's
// zero time included).
export function parseTime(s) {
  if (!s) return 0;
  const t = Date.parse(s);
  return Number.isFinite(t) && t > 946684800000 ? t : 0;
}

// parseDur reads a Go duration string ("10s", "1m30s", "500ms") in ms.
export function parseDur(s) {
  if (typeof s !== 'string') return 0;
  const unit = { h: 3600000, m: 60000, s: 1000, ms: 1, us: 0.001, 'µs': 0.001, ns: 0.000001 };
  let total = 0, any = false;
  for (const m of s.matchAll(/([0-9.]+)(h|ms|m|s|us|µs|ns)/g)) { total += parseFloat(m[1]) * unit[m[2]]; any = true; }
  return any ? total : 0;
}

// maskURL hides secrets in a URL for display: the password of its user
// information (user:****@host) and the values of secret-looking query
// parameters, as SpO₂'s logs do. It returns raw itself when nothing is
// hidden, so most rows hold one string for both.
const SECRET_PARAMS = new Set(['password', 'passwd', 'pwd', 'pass', 'token', 'access_token', 'auth',
  'secret', 'api_key', 'apikey', 'key', 'sig', 'signature']);
export function maskURL(raw) {
  if (raw.indexOf('@') < 0 && raw.indexOf('?') < 0) return raw; // nothing to hide: most URLs
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
  let changed = s !== raw;
  const pairs = s.slice(q + 1, frag).split('&').map((p) => {
    const eq = p.indexOf('=');
    if (eq >= 0 && SECRET_PARAMS.has(p.slice(0, eq).toLowerCase())) { changed = true; return p.slice(0, eq) + '=****'; }
    return p;
  });
  return changed ? s.slice(0, q + 1) + pairs.join('&') + s.slice(frag) : raw;
}

// hostOf returns the host[:port] of a URL ("" when it has none).
export function hostOf(url) {
  const scheme = url.indexOf('://');
  const start = scheme >= 0 ? scheme + 3 : 0;
  let end = start, at = -1;
  for (; end < url.length; end++) {
    const c = url.charCodeAt(end);
    if (c === 47 || c === 63 || c === 35) break; // / ? #
    if (c === 64) at = end; // @
  }
  return url.slice(at >= 0 ? at + 1 : start, end);
}

const MAX_DATA_TEXT = 400;

function compactValue(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

// compactData renders custom data as "key=value  key=value" for objects and
// as plain text or compact JSON otherwise, cut at 400 characters.
export function compactData(d) {
  if (d === null || d === undefined) return '';
  let s;
  if (typeof d === 'object' && !Array.isArray(d)) {
    s = Object.keys(d).map((k) => k + '=' + compactValue(d[k])).join('  ');
  } else {
    s = compactValue(d);
  }
  return s.length > MAX_DATA_TEXT ? s.slice(0, MAX_DATA_TEXT) + '…' : s;
}

// labelsText renders labels as "key=value,key=value", keys sorted.
export function labelsText(labels) {
  if (!labels || typeof labels !== 'object') return '';
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  keys.sort();
  return keys.map((k) => k + '=' + labels[k]).join(',');
}

export function fmtLatency(ms) {
  if (ms < 10) return ms.toFixed(1) + ' ms';
  if (ms < 1000) return Math.round(ms) + ' ms';
  return (ms / 1000).toFixed(2) + ' s';
}

// fmtDur shows a duration with its two largest units: 45s, 3m, 2h 5m, 3d 4h.
export function fmtDur(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return s + 's';
  const m = Math.floor(s / 60);
  if (m < 60) return m + 'm';
  const h = Math.floor(m / 60);
  if (h < 24) return h + 'h ' + (m % 60) + 'm';
  const d = Math.floor(h / 24);
  return d + 'd ' + (h % 24) + 'h';
}

export function fmtAgo(ms) {
  if (ms < 1000) return 'just now';
  return fmtDur(ms) + ' ago';
}

export function fmtPercent(x) {
  if (typeof x !== 'number' || !Number.isFinite(x)) return '—';
  const p = x * 100;
  return (p >= 99.995 ? '100' : p.toFixed(p >= 99 ? 2 : 1)) + ' %';
}

export const num = (n) => n.toLocaleString();
