// The publish ceiling: a bare node:http server that reads the same JSON body amebo gets,
// parses it and answers 201 with an event-shaped response. No schema, no log, no auth.
import { createServer } from 'node:http';

let nextId = 1;
const toEvent = (e) => ({ id: nextId++, action: e.action, payload: e.payload, timestamp: new Date().toISOString() });

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"status":"ok"}}');
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad json","code":400}');
      return;
    }
    const data = req.url === '/v1/events/batch' ? body.events.map(toEvent) : toEvent(body);
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ data }));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
