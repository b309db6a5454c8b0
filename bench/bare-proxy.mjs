// The floor of what a Node proxy costs: read the body, JSON-parse the model, forward it with a
// keep-alive agent, pipe the answer back. Nothing else. Usage:
//   node bench/bare-proxy.mjs PORT '{"model-name": enginePort, ...}'
import http from 'node:http';

const port = Number(process.argv[2]);
const routes = JSON.parse(process.argv[3] ?? '{}');
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    let enginePort;
    try {
      enginePort = routes[JSON.parse(body.toString()).model];
    } catch {}
    if (!enginePort) return res.writeHead(404).end();
    const headers = { ...req.headers, 'content-length': body.length };
    const upstream = http.request({ host: '127.0.0.1', port: enginePort, method: req.method, path: req.url, headers, agent }, (upRes) => {
      res.writeHead(upRes.statusCode, upRes.headers);
      upRes.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  });
});
server.keepAliveTimeout = 120_000;
server.listen(port, '127.0.0.1', 4096);
process.on('SIGTERM', () => process.exit(0));
