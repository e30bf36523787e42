#!/usr/bin/env node
'use strict';
// Launcher. A clone runs its TypeScript sources through tsx (no build step, edits take effect at
// once); the published package has no sources and runs the compiled dist/ (`npm run build`).
const { existsSync } = require('node:fs');
const path = require('node:path');

const source = path.join(__dirname, '..', 'src', 'cli', 'main.ts');
if (existsSync(source)) {
  require('tsx/cjs');
  require(source).runCli();
} else {
  require('../dist/src/cli/main.js').runCli();
}
