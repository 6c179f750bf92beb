// The connection: one WebSocket to ../ws, reconnected with backoff, and the
// API token (asked once, kept in this tab's sessionStorage). After a drop
// the page asks to resume after the last event it saw (?since=N); a server
// that cannot resume answers with a fresh snapshot instead.
const BACKOFF_MIN = 500, BACKOFF_MAX = 10000;
const TOKEN_KEY = 'spo2.token';

export class Stream {
  constructor(store, els, onConn) {
    this.store = store;
    this.els = els;
    this.onConn = onConn;
    this.sock = null;
    this.attempt = 0;
    this.retryTimer = 0; this.countdownTimer = 0; this.retryAt = 0;
    this.state = 'connecting';
    this.connects = 0;
    this.openedAt = 0;
    this.noResume = false; // the last resume attempt failed: ask for a snapshot next time
    this.lastURL = '';
    try { this.token = sessionStorage.getItem(TOKEN_KEY) || ''; } catch (_) { this.token = ''; }
    this.bind();
  }

  bind() {
    const { retryBtn, authForm, authDlg, tokenInput } = this.els;
    retryBtn.addEventListener('click', () => {
      if (this.state === 'auth') this.askToken('');
      else this.connect();
    });
    authForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const v = tokenInput.value.trim();
      if (!v) return;
      this.token = v;
      try { sessionStorage.setItem(TOKEN_KEY, v); } catch (_) { /* private mode */ }
      authDlg.close();
      if (this.state !== 'live') { this.attempt = 0; this.connect(); }
    });
  }

  // setConn shows the connection state. text is announced (polite live
  // region); wait, a countdown, is shown but not announced every second.
  setConn(state, text, wait) {
    const { connEl, connText, connWait, retryBtn } = this.els;
    this.state = state;
    connEl.dataset.conn = state;
    if (connText.textContent !== text) connText.textContent = text;
    connWait.textContent = wait || '';
    retryBtn.hidden = !(state === 'reconnecting' || state === 'auth');
    retryBtn.textContent = state === 'auth' ? 'Enter token' : 'Retry now';
    this.onConn();
  }

  // endpoint is ../ws on the page's own host, ws: or wss: following the
  // page's scheme; with the token, the sequence number to resume from, and
  // asking for the compact snapshot (arrays and a table of shared values,
  // a third of the bytes to receive and parse).
  endpoint(scheme, since) {
    const u = new URL('../ws', location.href);
    u.protocol = scheme;
    u.hash = '';
    u.search = '';
    if (this.token) u.searchParams.set('token', this.token);
    if (since) u.searchParams.set('since', String(since));
    u.searchParams.set('snapshot', 'compact');
    return u.toString();
  }

  // synced is called by the store when the stream is complete and live.
  synced() {
    this.connects++;
    this.attempt = 0;
    document.body.classList.remove('stale');
    this.setConn('live', 'Live');
  }

  connect() {
    clearTimeout(this.retryTimer);
    clearInterval(this.countdownTimer);
    if (this.sock) { const old = this.sock; this.sock = null; try { old.close(); } catch (_) { /* ignore */ } }
    const s = this.store;
    if (this.attempt > 0) this.setConn('reconnecting', 'Reconnecting…');
    else if (!s.synced) this.setConn('connecting', 'Connecting…');
    // Resume only from a server that numbers its events, with rows on
    // screen to resume, and not right after a resume that failed.
    const since = s.seqSeen && s.everSynced && s.lastSeq > 0 && !this.noResume ? s.lastSeq : 0;
    let ws;
    try {
      this.lastURL = this.endpoint(location.protocol === 'https:' ? 'wss:' : 'ws:', since);
      ws = new WebSocket(this.lastURL);
    } catch (_) {
      this.scheduleReconnect();
      return;
    }
    this.sock = ws;
    let opened = false;
    ws.onopen = () => {
      if (this.sock !== ws) return;
      opened = true;
      this.noResume = false;
      this.openedAt = performance.now();
      s.begin();
      this.setConn(this.attempt > 0 ? 'reconnecting' : 'connecting', since ? 'Resuming…' : 'Syncing…');
    };
    ws.onmessage = (ev) => {
      if (this.sock !== ws) return;
      s.push(ev.data);
    };
    ws.onclose = () => {
      if (this.sock !== ws) return;
      this.sock = null;
      s.end();
      document.body.classList.add('stale');
      if (!opened) {
        if (since) this.noResume = true;
        this.checkAuth();
      } else this.scheduleReconnect();
    };
  }

  // A refused WebSocket handshake does not tell the page why. Ask the same
  // endpoint over plain HTTP: 401 means the token is missing or wrong.
  checkAuth() {
    fetch(this.endpoint(location.protocol, 0), { cache: 'no-store', credentials: 'omit' })
      .then((res) => {
        if (res.status === 401) this.askToken(this.token ? 'The server rejected this token.' : '');
        else this.scheduleReconnect();
      })
      .catch(() => this.scheduleReconnect());
  }

  scheduleReconnect() {
    this.attempt++;
    const base = Math.min(BACKOFF_MAX, BACKOFF_MIN * Math.pow(2, this.attempt - 1));
    const delay = Math.round(base * (0.5 + Math.random() * 0.5));
    this.retryAt = Date.now() + delay;
    const tick = () => {
      const left = Math.max(0, Math.ceil((this.retryAt - Date.now()) / 1000));
      this.setConn('reconnecting', 'Reconnecting (attempt ' + this.attempt + ')', left > 0 ? ' in ' + left + 's' : '…');
    };
    tick();
    clearInterval(this.countdownTimer);
    this.countdownTimer = setInterval(tick, 1000);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  // askToken opens the token form; msg says why (empty on the first ask).
  askToken(msg) {
    const { authDlg, authErr, tokenInput } = this.els;
    if (this.state !== 'live') {
      clearTimeout(this.retryTimer);
      clearInterval(this.countdownTimer);
      this.setConn('auth', 'Token required');
    }
    authErr.textContent = msg;
    authErr.hidden = !msg;
    tokenInput.value = '';
    if (!authDlg.open) authDlg.showModal();
    tokenInput.focus();
  }

  // api sends one request to the HTTP API next to the page (../path), with
  // the token as a bearer token when the page has one. A 401 opens the
  // token form. It resolves to {status, body} (body parsed when JSON).
  async api(method, path, body) {
    const headers = {};
    if (this.token) headers.Authorization = 'Bearer ' + this.token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(new URL('../' + path, location.href), {
      method, headers, cache: 'no-store', credentials: 'omit',
      body: body === undefined ? (method === 'PUT' ? '' : undefined) : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed = text;
    try { parsed = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
    if (res.status === 401) this.askToken(this.token ? 'The server rejected this token.' : 'This action needs the API token.');
    return { status: res.status, body: parsed };
  }
}
