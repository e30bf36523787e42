#!/usr/bin/env node
'use strict';
// Launcher. A clone runs its TypeScript sources through tsx (no build step, edits take effect at
// once); the published package has no sources and runs the compiled dist/ (`npm run build`).
const { existsSync } = require('node:fs');
const path = require('node:path');

const source = path.join(__dirname, '..', 'src', 'cli', 'main.ts');
const compiled = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (existsSync(source)) {
  require('tsx/cjs');
  require(source).runCli();
} else if (existsSync(compiled)) {
  require(compiled).runCli();
} else {
  // A tarball from a bare `npm pack` without a build: the checkout's .npmrc sets ignore-scripts, so
  // `npm pack` does not run prepack, and the package holds neither sources nor dist/.
  process.stderr.write(
    `fineflow: this package has no compiled CLI (${path.relative(path.join(__dirname, '..'), compiled)} is missing): ` +
      'it was packed without a build. In the Fineflow checkout run `npm run pack` (it builds, then packs), and install that tarball.\n',
  );
  process.exitCode = 1;
}
