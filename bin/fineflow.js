#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is TypeScript, run through tsx so a fresh clone needs no build step.
require('tsx/cjs');
require('../src/cli/main.ts').runCli();
