#!/usr/bin/env node
// Exit 0 when node_modules holds what package-lock.json pins, else 1 (scripts/npm-ensure.sh: a tree that `npm ci`
// or `npm install` made by hand counts as installed, not only one npm-ensure.sh made). Plain node, no dependencies:
// it runs before node_modules exists.
//
// The record of what is installed is npm's own, node_modules/.package-lock.json, which npm writes after every
// install. The tree matches when that record says the same as the lockfile: same name, version and lockfileVersion,
// the same entry (version, resolved, integrity, …) for every package it lists, nothing the lockfile lacks, and every
// lockfile entry it leaves out optional and for another platform (os, cpu or libc: esbuild's and swc's binaries for
// other systems). A lockfile changed since (git pull, a branch switch) differs in some entry, so a stale tree never
// matches.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.argv[2] || process.cwd();

function read(file) {
  try {
    return JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
  } catch {
    return undefined;
  }
}

const canonical = (value) =>
  JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );

/** An os/cpu list that rules this machine out (npm's rules: a name, or `!name` to exclude). */
function excludes(list, here) {
  if (!Array.isArray(list) || list.length === 0) return false;
  if (list.includes(`!${here}`)) return true;
  const allowed = list.filter((entry) => !String(entry).startsWith('!'));
  return allowed.length > 0 && !allowed.includes(here);
}

/** glibc or musl, as npm tells them apart (Linux only; elsewhere a libc list rules nothing out). */
function libc() {
  if (process.platform !== 'linux') return undefined;
  const header = process.report?.getReport?.().header;
  return header?.glibcVersionRuntime ? 'glibc' : 'musl';
}

function matches() {
  const lock = read('package-lock.json');
  const installed = read('node_modules/.package-lock.json');
  if (!lock || !installed || typeof lock.packages !== 'object' || typeof installed.packages !== 'object') return false;
  for (const field of ['name', 'version', 'lockfileVersion']) if (lock[field] !== installed[field]) return false;
  for (const [key, entry] of Object.entries(installed.packages))
    if (!(key in lock.packages) || canonical(lock.packages[key]) !== canonical(entry)) return false;
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key === '' || key in installed.packages) continue;
    const optional = entry.optional === true || entry.devOptional === true;
    const here = libc();
    const elsewhere =
      excludes(entry.os, process.platform) ||
      excludes(entry.cpu, process.arch) ||
      (here !== undefined && excludes(entry.libc, here));
    if (!optional || !elsewhere) return false;
  }
  return true;
}

process.exitCode = matches() ? 0 : 1;
