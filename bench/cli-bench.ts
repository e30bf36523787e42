/**
 * CLI start-up benchmark: how long `fineflow --help`, `fineflow worker --help` and `fineflow
 * completion bash` take, as ratios against `node -e 0` measured in the same invocation (the floor
 * no Node CLI can beat). Two builds are timed:
 *   - compiled: src/cli, src/core and src/package-paths.ts transpiled to JavaScript with esbuild
 *     (what an installed package runs; only these are compiled, so a command definition that
 *     imports anything else fails here as well as in test/unit/cli/lazy-commands.test.ts);
 *   - clone: bin/fineflow.js through tsx, as a checkout runs it (its floor: loading tsx).
 * Runs are interleaved round by round so a busy machine slows every command alike; medians.
 *
 *   npm run bench -- --only cli
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { guardSectionArgs } from './bench-flags';

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, '.fineflow', 'bench-cli');
const ROUNDS = 9;

interface Case {
  readonly name: string;
  readonly args: readonly string[];
  /** Text stdout must contain, so a broken command cannot look fast. */
  readonly expect?: string;
}

function typeScriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** Transpile what the help path may load; returns the compiled entry point. */
function compileCli(): string {
  rmSync(OUT, { recursive: true, force: true });
  buildSync({
    entryPoints: [
      ...typeScriptFiles(path.join(ROOT, 'src', 'cli')),
      ...typeScriptFiles(path.join(ROOT, 'src', 'core')),
      path.join(ROOT, 'src', 'package-paths.ts'),
    ],
    outbase: ROOT,
    outdir: OUT,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
  return path.join(OUT, 'src', 'cli', 'main.js');
}

function timeOnce(c: Case): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, c.args, { cwd: ROOT, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0 || (c.expect !== undefined && !result.stdout.includes(c.expect))) {
    throw new Error(`${c.name}: exit ${result.status}; stderr: ${result.stderr.slice(0, 500)}`);
  }
  return ms;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function main(): void {
  const compiled = compileCli();
  const bin = path.join(ROOT, 'bin', 'fineflow.js');
  const cases: readonly Case[] = [
    { name: 'node -e 0 (baseline)', args: ['-e', '0'] },
    { name: 'compiled: fineflow --help', args: [compiled, '--help'], expect: 'usage: fineflow' },
    { name: 'compiled: fineflow worker --help', args: [compiled, 'worker', '--help'], expect: 'examples:' },
    { name: 'compiled: fineflow completion bash', args: [compiled, 'completion', 'bash'], expect: 'complete -o' },
    { name: 'node + tsx loader (clone floor)', args: ['-e', "require('tsx/cjs')"] },
    { name: 'clone: fineflow --help', args: [bin, '--help'], expect: 'usage: fineflow' },
    { name: 'clone: fineflow worker --help', args: [bin, 'worker', '--help'], expect: 'examples:' },
  ];
  for (const c of cases) timeOnce(c); // warm the file cache and tsx's transform cache
  const samples = new Map(cases.map((c) => [c.name, [] as number[]]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of cases) samples.get(c.name)?.push(timeOnce(c));
  }
  const baseline = median(samples.get(cases[0]!.name) ?? []);
  process.stdout.write(`median of ${ROUNDS} interleaved rounds (wall time; a shared machine is noisy)\n`);
  for (const c of cases) {
    const ms = median(samples.get(c.name) ?? []);
    process.stdout.write(
      `  ${c.name.padEnd(38)} ${ms.toFixed(0).padStart(6)} ms  ${(ms / baseline).toFixed(2)}× node -e 0\n`,
    );
  }
  const help = median(samples.get('compiled: fineflow --help') ?? []);
  process.stdout.write(
    `compiled --help costs ${(help - baseline).toFixed(0)} ms above starting Node (${(help / baseline).toFixed(2)}×)\n`,
  );
  rmSync(OUT, { recursive: true, force: true });
}

guardSectionArgs('cli', process.argv.slice(2));
main();
