/**
 * `npm run bench`: every benchmark of the project, one after another, each in its own process
 * (so one section's tfjs backend or Temporal worker cannot skew the next). Every section
 * reports ratios against a baseline measured in the same invocation, never absolute targets.
 *
 *   npm run bench                       # all sections
 *   npm run bench -- --only spec,sweep  # some sections
 *   npm run bench -- --only scale -- --full   # arguments after a second `--` go to each section's script
 *   FINEFLOW_STACK_PROFILE=prod npm run bench -- --only scale   # on the production-shaped stack (root)
 *
 * Sections that need Temporal and MinIO get a dedicated local stack (own ports and state dir),
 * started here and stopped at the end; FINEFLOW_BENCH_*_PORT and FINEFLOW_BENCH_STACK_DIR move it
 * (bench/bench-stack-env.ts), so two benches on one machine do not collide.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { benchStackEnv } from './bench-stack-env';

interface Section {
  readonly name: string;
  readonly script: string;
  readonly args?: readonly string[];
  readonly needsStack: boolean;
  readonly what: string;
  /** A script to run first, on the same stack (e.g. the demo, which registers the quickstart's base model and pushes its data). */
  readonly before?: string;
}

const SECTIONS: readonly Section[] = [
  {
    name: 'spec',
    script: 'bench/spec-bench.ts',
    needsStack: false,
    what: 'validate + plan of a generated 500-stage pipeline',
  },
  {
    name: 'sweep',
    script: 'bench/sweep-bench.ts',
    needsStack: false,
    what: 'epochs to target on real objectives: Fineflow TPE+ASHA vs random search vs Optuna (20 seeds, bootstrap CIs)',
  },
  {
    name: 'backend',
    script: 'bench/backend-bench.ts',
    needsStack: false,
    what: 'training throughput: native vs pure-JS tfjs vs Keras',
  },
  { name: 'ml', script: 'bench/ml-bench.ts', needsStack: false, what: 'fine-tuned vs from-scratch accuracy and time' },
  {
    name: 'cli',
    script: 'bench/cli-bench.ts',
    needsStack: false,
    what: '`fineflow --help` start-up (compiled and from a clone) vs `node -e 0` in the same run',
  },
  {
    name: 'memory',
    script: 'bench/memory-bench.ts',
    needsStack: false,
    what: 'peak RSS of a training process by model and batch size (capacity planning)',
  },
  {
    name: 'orchestration',
    script: 'bench/orchestration-bench.ts',
    needsStack: true,
    what: 'Fineflow vs a hand-written Temporal workflow',
  },
  {
    name: 'scale',
    script: 'bench/scale-bench.ts',
    needsStack: true,
    what: '10/100/1000 concurrent runs and a 1000-stage fan-out vs a hand-written workflow; chained-stage latency split',
  },
  {
    name: 'cache',
    script: 'bench/cache-bench.ts',
    args: ['pipelines/quickstart.yaml'],
    needsStack: true,
    what: 'cached resubmit of the quickstart vs its first run',
    before: 'src/demo/main.ts',
  },
];

const root = path.resolve(__dirname, '..');

function stackEnv(): NodeJS.ProcessEnv {
  if (process.env.FINEFLOW_STACK_PROFILE === 'prod') return prodStackEnv();
  return benchStackEnv(process.env, root);
}

/** The prod profile (infra/stack-prod.sh) has its own addresses and users; `stack.sh env` prints them once it is up. */
function prodStackEnv(): NodeJS.ProcessEnv {
  return { ...process.env, FINEFLOW_STACK_DIR: path.join(root, '.fineflow', 'bench-prod') };
}

function prodExports(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const printed = spawnSync('bash', ['infra/stack.sh', 'env'], { cwd: root, env, encoding: 'utf8' });
  if (printed.status !== 0) throw new Error(`infra/stack.sh env failed: ${printed.stderr}`);
  const exports: NodeJS.ProcessEnv = {};
  for (const match of printed.stdout.matchAll(/^export ([A-Z0-9_]+)=(.*)$/gm)) {
    const [, name, value] = match;
    if (name !== undefined) exports[name] = (value ?? '').replace(/^"(.*)"$/, '$1');
  }
  return exports;
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): number {
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  return result.status ?? 1;
}

function main(argv: readonly string[]): number {
  const separator = argv.indexOf('--');
  const sectionArgs = separator >= 0 ? argv.slice(separator + 1) : [];
  const own = separator >= 0 ? argv.slice(0, separator) : argv;
  const onlyIndex = own.indexOf('--only');
  const only = onlyIndex >= 0 ? new Set((own[onlyIndex + 1] ?? '').split(',').filter(Boolean)) : undefined;
  const unknown = only ? [...only].filter((n) => !SECTIONS.some((s) => s.name === n)) : [];
  if (unknown.length > 0) {
    process.stderr.write(
      `bench: unknown section(s) ${unknown.join(', ')}; known: ${SECTIONS.map((s) => s.name).join(', ')}\n`,
    );
    return 2;
  }
  const chosen = SECTIONS.filter((s) => !only || only.has(s.name));
  const env = stackEnv();
  // Bootstrap installs the dev binaries (`stack.sh install`, which the prod profile's script does not have);
  // the prod profile's `up` builds and caches its own.
  if (run('bash', ['scripts/bootstrap.sh'], { ...env, FINEFLOW_STACK_PROFILE: 'dev' }) !== 0) return 1;
  const needsStack = chosen.some((s) => s.needsStack);
  if (needsStack && run('bash', ['infra/stack.sh', 'up'], env) !== 0) return 1;
  const outcomes: { name: string; status: number; seconds: number }[] = [];
  try {
    if (needsStack && env.FINEFLOW_STACK_PROFILE === 'prod') Object.assign(env, prodExports(env));
    for (const section of chosen) {
      process.stdout.write(`\n=== bench ${section.name}: ${section.what}\n`);
      if (section.before && run(process.execPath, ['--import', 'tsx', section.before], env) !== 0) {
        outcomes.push({ name: section.name, status: 1, seconds: 0 });
        continue;
      }
      const started = process.hrtime.bigint();
      const args = [...(section.args ?? []), ...sectionArgs];
      const status = run(process.execPath, ['--import', 'tsx', section.script, ...args], env);
      outcomes.push({ name: section.name, status, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
    }
  } finally {
    if (needsStack) spawnSync('bash', ['infra/stack.sh', 'down'], { cwd: root, env, stdio: 'ignore' });
  }
  process.stdout.write('\n=== bench summary\n');
  for (const o of outcomes)
    process.stdout.write(`  ${o.name.padEnd(14)} ${o.status === 0 ? 'ok    ' : 'FAILED'} ${o.seconds.toFixed(1)} s\n`);
  return outcomes.every((o) => o.status === 0) ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
