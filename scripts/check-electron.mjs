#!/usr/bin/env node
// `npm start` runs this before `electron .`: is Electron's binary installed? If not, it fetches it
// with the electron package's own installer, and when that can't work it says what to do, instead
// of Electron's own stack trace. No dependencies; exit code 0 = ready to start.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

function fail(lines) {
  process.stderr.write(`\nLLM Manager can't start the desktop app: ${lines.join('\n')}\n\n`);
  process.exit(1);
}

let dir;
let version = '?';
try {
  const pkgFile = require.resolve('electron/package.json');
  dir = path.dirname(pkgFile);
  version = JSON.parse(readFileSync(pkgFile, 'utf8')).version;
} catch {
  fail(['the electron package is not installed.', 'Run `npm ci` in this folder first.']);
}

/** Where the electron package expects its binary (the same lookup as its index.js), or null when it has none recorded. */
function binaryPath() {
  let relative = '';
  try {
    relative = readFileSync(path.join(dir, 'path.txt'), 'utf8').trim();
  } catch {
    // not downloaded yet
  }
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) return path.join(process.env.ELECTRON_OVERRIDE_DIST_PATH, relative || 'electron');
  return relative ? path.join(dir, 'dist', relative) : null;
}

const installed = () => {
  const binary = binaryPath();
  return binary !== null && existsSync(binary);
};

if (installed()) process.exit(0);

const howToFix = [
  `To fetch it by hand:   node ${path.relative(process.cwd(), path.join(dir, 'install.js'))}`,
  'Behind a proxy set HTTPS_PROXY; to download from a mirror set ELECTRON_MIRROR (see https://www.electronjs.org/docs/latest/tutorial/installation).',
  'Without the desktop app, the same endpoint and window run headless: npm run serve, then open http://127.0.0.1:8080/',
];
if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
  fail([`Electron ${version}'s binary is not installed, and ELECTRON_SKIP_BINARY_DOWNLOAD is set, so it won't be downloaded.`, 'Unset it, then run `npm start` again.', ...howToFix]);
}
process.stderr.write(`Electron ${version}'s binary is not installed yet: downloading it (about 100 MB, once)…\n`);
const result = spawnSync(process.execPath, [path.join(dir, 'install.js')], { stdio: 'inherit' });
if (result.status !== 0 || !installed()) {
  fail([`Electron ${version}'s binary could not be downloaded (see the error above).`, ...howToFix]);
}
