// A WebSocket client on Node's `ws` package, driven by the Go test over
// stdin and stdout. Usage: node client.js URL deflate|plain
//
// It prints one JSON line per thing it sees: the handshake (status and the
// Sec-WebSocket-Extensions answer), open (ws.extensions), every message
// (text or binary, its size, its events), synced (the snapshot's decoded
// size and the bytes read off the socket so far), and closed or error. A
// "close" line on stdin closes the connection with 1000; stdin ending or a
// minute passing ends the process.
'use strict';
const WebSocket = require('ws');
const readline = require('readline');

const [url, mode] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const fail = (message, code) => { out({ kind: 'error', message }); process.exit(code); };

setTimeout(() => fail('no close within a minute', 3), 60000);

const ws = new WebSocket(url, { perMessageDeflate: mode === 'deflate', handshakeTimeout: 10000 });
let socket = null;
let payload = 0;
let synced = false;

ws.on('upgrade', (res) => {
  socket = res.socket;
  out({ kind: 'handshake', status: res.statusCode, extensions_header: res.headers['sec-websocket-extensions'] ?? null });
});
ws.on('open', () => out({ kind: 'open', extensions: ws.extensions }));
ws.on('message', (data, isBinary) => {
  if (!synced) payload += data.length;
  let events;
  try {
    events = JSON.parse(data.toString('utf8'));
  } catch (e) {
    fail('message is not JSON: ' + e.message, 1);
  }
  out({ kind: 'message', binary: isBinary, bytes: data.length, events });
  if (!synced && Array.isArray(events) && events.some((e) => e.type === 'synced')) {
    synced = true;
    out({ kind: 'synced', payload_bytes: payload, wire_bytes: socket ? socket.bytesRead : -1 });
  }
});
ws.on('close', (code) => { out({ kind: 'closed', code }); process.exit(0); });
ws.on('error', (e) => fail(e.message, 1));

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => { if (line.trim() === 'close') ws.close(1000); });
rl.on('close', () => fail('stdin ended', 2));
