/**
 * `npm run bench`: every benchmark of the project, one after another, each in its own process
 * (so one section's tfjs backend or Temporal worker cannot skew the next). Every section
 * reports ratios against a baseline measured in the same invocation, never absolute targets.
 *
 *   npm run bench                       # all sections
 *   npm run bench -- --only spec,sweep  # some sections
 *   npm run bench -- --only scale -- --full   # arguments after a second `--` go to the sections that take them
 *   npm run bench -- --help             # the sections, and each one's flags (bench/bench-flags.ts)
 *   FINEFLOW_STACK_PROFILE=prod npm run bench -- --only scale   # on the production-shaped stack (root)
 *
 * A section's prerequisites (npm dependencies, the native TensorFlow binding, the stack) are prepared right
 * before the first section that needs them (bench/bench-plan.ts), so a section starts without waiting for
 * work it does not need; a section started after the source changed says so.
 * Sections that need Temporal and MinIO get a dedicated local stack (own ports and state dir),
 * started here and stopped at the end; FINEFLOW_BENCH_*_PORT and FINEFLOW_BENCH_STACK_DIR move it
 * (bench/bench-stack-env.ts), so two benches on one machine do not collide.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { argsForSection, positionalFor, sectionArgsProblem, sectionHelp } from './bench-flags';
import { benchSteps, type SectionNeeds } from './bench-plan';
import { benchStackEnv } from './bench-stack-env';
import { snapshotSource } from './source-snapshot';

interface Section extends SectionNeeds {
  readonly script: string;
  readonly args?: readonly string[];
  readonly what: string;
  /** A script to run first, on the same stack (e.g. the demo, which registers the quickstart's base model and pushes its data). */
  readonly before?: string;
}

const SECTIONS: readonly Section[] = [
  {
    name: 'spec',
    script: 'bench/spec-bench.ts',
    needsTf: false,
    needsStack: false,
    what: 'validate + plan of a generated 500-stage pipeline',
  },
  {
    name: 'sweep',
    script: 'bench/sweep-bench.ts',
    needsTf: true,
    needsStack: false,
    what: 'epochs to target on real objectives: Fineflow TPE+ASHA vs random search vs Optuna (--seeds, 20 by default; bootstrap CIs)',
  },
  {
    name: 'backend',
    script: 'bench/backend-bench.ts',
    needsTf: true,
    needsStack: false,
    what: 'training throughput: native vs pure-JS tfjs vs Keras',
  },
  {
    name: 'ml',
    script: 'bench/ml-bench.ts',
    needsTf: true,
    needsStack: false,
    what: 'fine-tuned vs from-scratch accuracy and time',
  },
  {
    name: 'cli',
    script: 'bench/cli-bench.ts',
    needsTf: false,
    needsStack: false,
    what: '`fineflow --help` start-up (compiled and from a clone) vs `node -e 0` in the same run',
  },
  {
    name: 'memory',
    script: 'bench/memory-bench.ts',
    needsTf: true,
    needsStack: false,
    what: 'peak RSS of a training process by model and batch size (capacity planning)',
  },
  {
    // Back since session 23: a concurrent edit (c3356e8) dropped it with `ui`, while the docs kept pointing to it.
    name: 'serve',
    script: 'bench/serve-bench.ts',
    needsTf: true,
    needsStack: false,
    what: 'fineflow serve requests/s and p50/p99 latency, single and batched, vs in-process model.predict',
  },
  {
    name: 'orchestration',
    script: 'bench/orchestration-bench.ts',
    needsTf: true,
    needsStack: true,
    what: 'Fineflow vs a hand-written Temporal workflow',
  },
  {
    name: 'scale',
    script: 'bench/scale-bench.ts',
    needsTf: true,
    needsStack: true,
    what: '10/100/1000 concurrent runs and a 1000-stage fan-out vs a hand-written workflow; chained-stage latency split',
  },
  {
    name: 'data',
    script: 'bench/data-bench.ts',
    needsTf: false,
    needsStack: true,
    what: '`data push` of a folder of small files: files in flight vs one at a time, in the same run',
  },
  {
    name: 'fence',
    script: 'bench/fence-bench.ts',
    needsTf: false,
    needsStack: true,
    what: "the attempt fence's HEAD per write: checkpoints and small objects through a fenced vs an unfenced store",
  },
  {
    name: 'ui',
    script: 'bench/ui-bench.ts',
    needsTf: false,
    needsStack: true,
    what: "fineflow ui: a 500-stage run's page load and API answer vs the CLI's status --json",
  },
  {
    name: 'cache',
    script: 'bench/cache-bench.ts',
    needsTf: true,
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

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd = root): number {
  const result = spawnSync(command, args, { cwd, env, stdio: 'inherit' });
  return result.status ?? 1;
}

/**
 * The stack's binaries (the dev profile's `stack.sh install`; the prod profile's `up` builds and caches its own),
 * then the stack; on the prod profile, the addresses and users it printed.
 */
function startStack(env: NodeJS.ProcessEnv): boolean {
  if (run('bash', ['infra/stack.sh', 'install'], { ...env, FINEFLOW_STACK_PROFILE: 'dev' }) !== 0) return false;
  if (run('bash', ['infra/stack.sh', 'up'], env) !== 0) return false;
  if (env.FINEFLOW_STACK_PROFILE === 'prod') Object.assign(env, prodExports(env));
  return true;
}

function runSection(
  section: Section,
  sectionArgs: readonly string[],
  env: NodeJS.ProcessEnv,
  source: string,
): { name: string; status: number; seconds: number } {
  process.stdout.write(`\n=== bench ${section.name}: ${section.what}\n`);
  if (section.before && run(process.execPath, ['--import', 'tsx', section.before], env, source) !== 0)
    return { name: section.name, status: 1, seconds: 0 };
  const started = process.hrtime.bigint();
  // A positional given after the second `--` replaces the section's own (the cache section's pipeline).
  const args = positionalFor(section.name, sectionArgs) ? sectionArgs : [...(section.args ?? []), ...sectionArgs];
  const status = run(process.execPath, ['--import', 'tsx', section.script, ...args], env, source);
  return { name: section.name, status, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

function usage(sections: readonly Section[]): string {
  return [
    'usage: npm run bench [-- [--only SECTION,…] [-- SECTION FLAGS…]]',
    '',
    'Every section, one after another, each in its own process; each prints ratios against a baseline it measures in',
    'the same run. Arguments after a second `--` go to the sections that take them.',
    '',
    'sections:',
    ...SECTIONS.map((s) => `  ${s.name.padEnd(14)} ${s.what}`),
    '',
    'flags of the sections' + (sections.length < SECTIONS.length ? ' chosen' : '') + ':',
    ...sections.map((s) => sectionHelp(s.name)),
    '',
    'examples:',
    '  npm run bench -- --only spec,sweep',
    '  npm run bench -- --only sweep -- --objectives tabular-mlp --seeds 20 --methods random,fineflow-tpe-asha',
    '  npm run bench -- --only scale -- --full',
  ].join('\n');
}

/** The sections `own` (the arguments before a second `--`) chooses, or the line that says what is wrong with them. */
function chooseSections(own: readonly string[]): { sections: Section[]; help: boolean } | { problem: string } {
  let only: Set<string> | undefined;
  let help = false;
  for (let i = 0; i < own.length; i++) {
    const arg = own[i] as string;
    if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--only') {
      const value = own[i + 1];
      if (value === undefined || value.startsWith('-'))
        return { problem: `--only needs a list of sections, e.g. --only spec,sweep` };
      only = new Set(value.split(',').filter(Boolean));
      i += 1;
    } else
      return {
        problem:
          `unknown argument ${JSON.stringify(arg.slice(0, 80))}; npm run bench takes --only and --help, and a ` +
          `section's flags after a second \`--\` (npm run bench -- --only sweep -- --seeds 5)`,
      };
  }
  const unknown = only ? [...only].filter((n) => !SECTIONS.some((s) => s.name === n)) : [];
  if (unknown.length > 0)
    return { problem: `unknown section(s) ${unknown.join(', ')}; known: ${SECTIONS.map((s) => s.name).join(', ')}` };
  return { sections: SECTIONS.filter((s) => !only || only.has(s.name)), help };
}

function main(argv: readonly string[]): number {
  const separator = argv.indexOf('--');
  const sectionArgs = separator >= 0 ? argv.slice(separator + 1) : [];
  const own = separator >= 0 ? argv.slice(0, separator) : argv;
  const choice = chooseSections(own);
  if ('problem' in choice) {
    process.stderr.write(`bench: ${choice.problem}\n`);
    return 2;
  }
  const chosen = choice.sections;
  if (choice.help || sectionArgs.includes('--help') || sectionArgs.includes('-h')) {
    process.stdout.write(`${usage(chosen)}\n`);
    return 0;
  }
  // Checked before anything is prepared: a typo must not start an hour of training with the defaults.
  const problem = sectionArgsProblem(
    chosen.map((s) => s.name),
    sectionArgs,
  );
  if (problem) {
    process.stderr.write(`bench: ${problem} (npm run bench -- --help lists every section's flags)\n`);
    return 2;
  }
  const env = stackEnv();
  const source = snapshotSource(root);
  process.stdout.write(
    `bench: sections run the source as of now, ${source.files} files copied to ${source.directory}\n`,
  );
  const outcomes: { name: string; status: number; seconds: number }[] = [];
  let stackUp = false;
  try {
    for (const step of benchSteps(chosen)) {
      if (step.kind === 'npm' && run('bash', ['scripts/npm-ensure.sh'], env) !== 0) return 1;
      if (step.kind === 'tf' && run('bash', ['infra/tfjs-native/setup.sh'], env) !== 0) return 1;
      if (step.kind === 'stack') {
        stackUp = true;
        if (!startStack(env)) return 1;
      }
      const section = step.kind === 'section' ? chosen.find((s) => s.name === step.name) : undefined;
      if (section) outcomes.push(runSection(section, argsForSection(section.name, sectionArgs), env, source.directory));
    }
  } finally {
    source.remove();
    if (stackUp) spawnSync('bash', ['infra/stack.sh', 'down'], { cwd: root, env, stdio: 'ignore' });
  }
  process.stdout.write('\n=== bench summary\n');
  for (const o of outcomes)
    process.stdout.write(`  ${o.name.padEnd(14)} ${o.status === 0 ? 'ok    ' : 'FAILED'} ${o.seconds.toFixed(1)} s\n`);
  return outcomes.every((o) => o.status === 0) ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
