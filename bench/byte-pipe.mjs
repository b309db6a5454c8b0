// The least a Node process can do between a client and an engine: copy bytes both ways, with no
// HTTP parsing at all. Its added time to first byte is what one more Node hop costs on this
// machine before any HTTP work, a reference for the streaming figures. Usage:
//   node bench/byte-pipe.mjs PORT ENGINE_PORT
import net from 'node:net';

const [port, enginePort] = process.argv.slice(2).map(Number);

const server = net.createServer({ noDelay: true }, (client) => {
  const engine = net.connect({ host: '127.0.0.1', port: enginePort, noDelay: true });
  client.pipe(engine);
  engine.pipe(client);
  const close = () => {
    client.destroy();
    engine.destroy();
  };
  client.on('error', close).on('close', close);
  engine.on('error', close).on('close', close);
});
server.listen(port, '127.0.0.1', 4096);
process.on('SIGTERM', () => process.exit(0));
