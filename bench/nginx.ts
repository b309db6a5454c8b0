// Debian's nginx as the reference reverse proxy: one worker, keep-alive upstream connections,
// proxy_buffering off, a temp nginx.conf, run in the foreground (daemon off) and stopped after.
import fs from 'node:fs';
import path from 'node:path';
import { start, waitForPort, type Started } from './procs.js';

export interface NginxRoute {
  /** Port nginx listens on. */
  listen: number;
  /** Engine port it forwards to. */
  upstream: number;
}

export function nginxConf(dir: string, routes: NginxRoute[]): string {
  const temp = (name: string) => path.join(dir, name);
  const blocks = routes.map(
    (r, i) => `
  upstream engine${i} {
    server 127.0.0.1:${r.upstream};
    keepalive 256;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
  }
  server {
    listen 127.0.0.1:${r.listen} backlog=4096;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    location / {
      proxy_pass http://engine${i};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 600s;
    }
  }`,
  );
  return `# written by bench/nginx.ts for one run of npm run bench
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 65536;
pid ${temp('nginx.pid')};
error_log ${temp('nginx-error.log')} warn;
events {
  worker_connections 8192;
  multi_accept on;
}
http {
  access_log off;
  client_body_temp_path ${temp('client_body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  client_body_buffer_size 64k;
  tcp_nodelay on;
${blocks.join('\n')}
}
`;
}

export async function startNginx(dir: string, routes: NginxRoute[], cpu: string): Promise<Started> {
  fs.mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, nginxConf(dir, routes));
  // -e: the early error log (before the config is read) must not go to /var/log/nginx.
  const proc = start('nginx', 'nginx', ['-p', dir, '-c', conf, '-e', path.join(dir, 'nginx-error.log')], { cpu, capture: true });
  try {
    await Promise.race([
      Promise.all(routes.map((r) => waitForPort(r.listen, 10_000, `nginx on ${r.listen}`))),
      proc.exited.then((code) => {
        throw new Error(`nginx exited (code ${code}): ${proc.output()}${readLog(dir)}`);
      }),
    ]);
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return proc;
}

function readLog(dir: string): string {
  try {
    return fs.readFileSync(path.join(dir, 'nginx-error.log'), 'utf8');
  } catch {
    return '';
  }
}
