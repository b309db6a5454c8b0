import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository (or packaged app) root: the folder holding package.json and config.example.yaml. */
export function appRoot(): string {
  // Works from src-main/core (tests, tsx) and from dist/node/src-main/core (built).
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'llm-manager') return dir;
    } catch {
      // keep walking up
    }
    dir = dirname(dir);
  }
  return process.cwd();
}

export function appVersion(root = appRoot()): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}
