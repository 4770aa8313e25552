// Webhook receiver: answers 200 to every POST as soon as the body is read, and counts
// deliveries per path, the time of the first and last one, and the sockets that carried them.
// With RECEIVER_E2E=1 it also parses each body and keeps {event_id: receipt time}.
import { createServer } from 'node:http';

const e2e = process.env.RECEIVER_E2E === '1';
let count = 0;
let first = 0;
let last = 0;
let sockets = 0;
let openSockets = 0;
let maxOpenSockets = 0;
let byPath = new Map();
// Sockets that carried at least one request since the last reset (a socket left open by an
// earlier client does not count until it is used again).
let epoch = 0;
let usedSockets = 0;
const seenIn = new WeakMap();
let received = new Map(); // event_id -> performance.timeOrigin + now (ms, wall clock)

const server = createServer((req, res) => {
  const chunks = e2e ? [] : null;
  req.on('data', (c) => chunks?.push(c));
  req.on('end', () => {
    const now = performance.now();
    if (count === 0) first = now;
    last = now;
    count++;
    byPath.set(req.url, (byPath.get(req.url) ?? 0) + 1);
    if (seenIn.get(req.socket) !== epoch) {
      seenIn.set(req.socket, epoch);
      usedSockets++;
    }
    if (e2e) {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (!received.has(body.event_id)) received.set(body.event_id, performance.timeOrigin + now);
      } catch {
        // A body that is not JSON is counted but cannot be timed.
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
});
server.on('connection', (socket) => {
  sockets++;
  openSockets++;
  if (openSockets > maxOpenSockets) maxOpenSockets = openSockets;
  socket.on('close', () => openSockets--);
});
server.keepAliveTimeout = 60_000;

process.on('message', (msg) => {
  if (msg.type === 'reset') {
    count = 0;
    first = last = 0;
    sockets = 0;
    maxOpenSockets = openSockets;
    byPath = new Map();
    received = new Map();
    epoch++;
    usedSockets = 0;
    process.send({ id: msg.id });
  } else if (msg.type === 'stats') {
    process.send({
      id: msg.id,
      count,
      spanMs: last - first,
      sinceLastMs: count ? performance.now() - last : Infinity,
      sockets,
      maxOpenSockets,
      openSockets,
      usedSockets,
      byPath: Object.fromEntries(byPath),
      received: msg.withReceived ? [...received] : undefined,
    });
  }
});
server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
