#!/usr/bin/env node
// `npm test` runs this first: the suite needs the Node inside Electron 45 (Node 24), and on an older
// one it fails late and strangely (a missing API deep in a test). Say so at once instead.
import { fileURLToPath } from 'node:url';

export const REQUIRED_NODE = 24;

/** What to tell someone running the tests on Node `version`, or null when it will do. */
export function nodeProblem(version) {
  if (Number(version.split('.')[0]) >= REQUIRED_NODE) return null;
  return (
    `npm test needs Node ${REQUIRED_NODE} or newer (the Node inside Electron 45); this is Node ${version}.\n` +
    `Install Node ${REQUIRED_NODE} (https://nodejs.org, or nvm install ${REQUIRED_NODE}), or run \`bash .ci/run\`, which installs it into .tooling/.\n` +
    '(The headless node itself, `npm run serve`, runs on Node 20.19 and newer.)'
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problem = nodeProblem(process.versions.node);
  if (problem) {
    process.stderr.write(`\n${problem}\n\n`);
    process.exit(1);
  }
}
