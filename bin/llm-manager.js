#!/usr/bin/env node
// Installed command `llm-manager`: runs the compiled CLI (npm ci / npm run build:node builds it).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/node/src-main/cli.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write('llm-manager is not built yet: run `npm run build:node` in its folder first.\n');
  process.exit(1);
}
await import(cli);
