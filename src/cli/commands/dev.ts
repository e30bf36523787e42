/**
 * `fineflow dev up|down|status|logs`: drives infra/stack.sh (Temporal dev server + MinIO on
 * loopback), starts and stops the web UI beside them (src/cli/dev-ui.ts; `up --no-ui` skips it),
 * and prints the endpoints and the environment a shell should export to use them.
 * The stack's S3 user is the least-privilege CLI user, never root, and its secret key is never
 * printed: the output shows the command that reads it (`infra/stack.sh secret-key cli`).
 */
import { runBashScript } from '../run-script';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path, { resolve } from 'node:path';
import { EXIT, UsageError, subcommandError, type CliCommand, type CliIo } from '../command';
import { packageFile, stackDir as stackDirOf } from '../../package-paths';
import type * as DevUiModule from '../dev-ui';
import type { DevUiStatus } from '../dev-ui';
import { DEFAULT_UI_PORT } from './ui';
import { devSeedCommand } from './dev-seed';
import { CONTROL_POOL } from '../../core/run/task-queues';
import { STAGE_DEFAULTS } from '../../core/spec/pipeline-schema';
import type * as WorkerPresenceModule from '../../client/worker-presence';
import type { PoolPollers } from '../../client/worker-presence';

const STACK_SCRIPT = packageFile('infra', 'stack.sh');
const SUBCOMMANDS = ['up', 'down', 'status', 'logs', 'seed'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

/** Endpoints of the stack, computed from the same variables (and defaults) as infra/stack.sh. */
export function stackEndpoints(env: CliIo['env'], cwd = process.cwd()) {
  const port = (name: string, fallback: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    if (!/^\d+$/.test(raw)) throw new UsageError(`${name}=${raw} must be a port number`);
    return Number(raw);
  };
  const temporalPort = port('FINEFLOW_TEMPORAL_PORT', 7233);
  const minioPort = port('FINEFLOW_MINIO_PORT', 9000);
  const stackDir = stackDirOf(env, cwd);
  return {
    temporal: {
      address: `127.0.0.1:${temporalPort}`,
      ui: `http://127.0.0.1:${port('FINEFLOW_TEMPORAL_UI_PORT', 8233)}`,
    },
    minio: {
      endpoint: `http://127.0.0.1:${minioPort}`,
      console: `http://127.0.0.1:${port('FINEFLOW_MINIO_CONSOLE_PORT', 9001)}`,
    },
    /** Where `dev up` serves `fineflow ui` (always loopback). */
    ui: { port: port('FINEFLOW_UI_PORT', DEFAULT_UI_PORT) },
    env: {
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      TEMPORAL_NAMESPACE: 'default',
      FINEFLOW_S3_ENDPOINT: `http://127.0.0.1:${minioPort}`,
      FINEFLOW_S3_ACCESS_KEY: env.FINEFLOW_S3_ACCESS_KEY?.trim() || 'fineflow-cli',
      // The payload encryption key `up` writes (the path only: the key stays in the file).
      FINEFLOW_CODEC_KEY_FILE: resolve(stackDir, 'codec-keys'),
    },
    /** A shell command that prints the secret key of FINEFLOW_S3_ACCESS_KEY (the key itself is never shown). */
    secretKeyCommand: `bash ${STACK_SCRIPT} secret-key cli`,
  };
}

/** The port variables `dev up` records in the state dir, so a shell that did not set them still finds the stack. */
export const STACK_PORT_VARIABLES = [
  'FINEFLOW_TEMPORAL_PORT',
  'FINEFLOW_TEMPORAL_UI_PORT',
  'FINEFLOW_MINIO_PORT',
  'FINEFLOW_MINIO_CONSOLE_PORT',
  'FINEFLOW_UI_PORT',
] as const;

/** `<state dir>/ports.json`: the ports the last `dev up` of that state dir started the stack on. */
export function stackPortsFile(stackDir: string): string {
  return path.join(stackDir, 'ports.json');
}

/** Records the ports `dev up` used (explicit or default), after the stack came up. */
export function recordStackPorts(env: CliIo['env'], stackDir: string, cwd = process.cwd()): void {
  const endpoints = stackEndpoints(env, cwd);
  const portOf = (url: string): number => Number(new URL(url.includes('://') ? url : `tcp://${url}`).port);
  const ports: Record<(typeof STACK_PORT_VARIABLES)[number], number> = {
    FINEFLOW_TEMPORAL_PORT: portOf(endpoints.temporal.address),
    FINEFLOW_TEMPORAL_UI_PORT: portOf(endpoints.temporal.ui),
    FINEFLOW_MINIO_PORT: portOf(endpoints.minio.endpoint),
    FINEFLOW_MINIO_CONSOLE_PORT: portOf(endpoints.minio.console),
    FINEFLOW_UI_PORT: endpoints.ui.port,
  };
  writeFileSync(stackPortsFile(stackDir), `${JSON.stringify(ports, null, 2)}\n`);
}

/**
 * The environment a `dev` command works with: a port variable this shell did not set takes the value `dev up` recorded
 * for the state dir (a new shell after `FINEFLOW_MINIO_PORT=19000 fineflow dev up` checked 9000). A variable the
 * shell sets wins. `recorded` names the variables taken from the record; a missing or damaged record adds nothing.
 */
export function withRecordedPorts(
  env: CliIo['env'],
  stackDir: string,
): { readonly env: CliIo['env']; readonly recorded: readonly string[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(stackPortsFile(stackDir), 'utf8'));
  } catch {
    return { env, recorded: [] };
  }
  if (typeof parsed !== 'object' || parsed === null) return { env, recorded: [] };
  const record = parsed as Record<string, unknown>;
  const merged: Record<string, string | undefined> = { ...env };
  const recorded: string[] = [];
  for (const name of STACK_PORT_VARIABLES) {
    const value = record[name];
    if (env[name]?.trim() || !Number.isInteger(value) || (value as number) < 1 || (value as number) > 65_535) continue;
    merged[name] = String(value);
    recorded.push(name);
  }
  return { env: merged, recorded };
}

/** The pools a stack needs workers for: `control` runs the workflows, `cpu` is the pool a stage gets by default. */
export const DEV_STACK_POOLS: readonly string[] = [CONTROL_POOL, STAGE_DEFAULTS.pool];

/**
 * The closing line of `dev up` / `dev status`: the stack starts no worker, and a run submitted without one waits. Names
 * the pools nobody polls with the command that starts a worker for each, or says that every pool has one. A worker of
 * this machine counts only while its process runs (Temporal lists a stopped one for 90 s); one Temporal saw elsewhere
 * is counted and said to be unchecked.
 */
export function workersLine(found: PoolPollers): string {
  const start = (pools: readonly string[]): string =>
    `start ${pools.map((pool) => `\`fineflow worker --pool ${pool}\``).join(' and ')} in shells with the exports ` +
    'above (and one for each other pool your pipelines name)';
  if ('error' in found) return `Workers: could not ask Temporal who polls (${found.error}); ${start(DEV_STACK_POOLS)}`;
  const counted = (pool: string): { running: number; seenRecently: number; total: number } => {
    const { running = 0, seenRecently = 0 } = found.pollers.get(pool) ?? {};
    return { running, seenRecently, total: running + seenRecently };
  };
  const idle = DEV_STACK_POOLS.filter((pool) => counted(pool).total === 0);
  if (idle.length === DEV_STACK_POOLS.length) return `Workers: none polls this stack; ${start(idle)}`;
  const polled = DEV_STACK_POOLS.filter((pool) => !idle.includes(pool)).map((pool) => {
    const { seenRecently, total } = counted(pool);
    const unchecked =
      seenRecently === 0
        ? ''
        : ` (${seenRecently === total ? '' : `${seenRecently} of them `}seen by Temporal in the last 90 s, ` +
          'not a process of this machine, so it may have stopped)';
    return `${pool} ${total}${unchecked}`;
  });
  const missing = idle.length > 0 ? `; none on ${idle.join(', ')}: ${start(idle)}` : '';
  return `Workers polling: ${polled.join(', ')}${missing}`;
}

/**
 * The UI line of `dev status`. A port another program holds (a `fineflow ui` started by hand answers there too) is not
 * "not running (dev up starts it)": `dev up` would refuse that port.
 */
export function devUiStatusText(ui: DevUiStatus, port: number): string {
  if (ui.running) return 'up';
  if (ui.portHeld)
    return (
      `not started by \`fineflow dev up\`: another program (a \`fineflow ui\` you started?) holds port ${port}, ` +
      'where `dev up` would start it; stop that program, or set FINEFLOW_UI_PORT to a free port'
    );
  return 'not running (fineflow dev up starts it)';
}

/** Runs the stack script; the state dir is always passed, so an installed package never keeps state beside its code. */
function runStackScript(args: readonly string[], io: CliIo, out: NodeJS.WritableStream): Promise<number> {
  const env = { ...io.env, FINEFLOW_STACK_DIR: stackDirOf(io.env, io.cwd) } as NodeJS.ProcessEnv;
  return runBashScript(STACK_SCRIPT, args, io, out, env);
}

export const command: CliCommand = {
  name: 'dev',
  summary: 'start, stop or check the local Temporal + MinIO stack',
  usage: 'dev up|down|status|logs [temporal|minio] | seed [EXAMPLE…]',
  description: `Runs infra/stack.sh. The first \`up\` builds the Temporal CLI and MinIO with \`go install\` into
~/.cache/fineflow/bin (minutes, once); later starts take seconds. State (Temporal's SQLite file,
MinIO data, logs, the payload encryption key \`codec-keys\`) lives in .fineflow/dev of a clone, or
~/.local/state/fineflow/dev (\$XDG_STATE_HOME) for an installed package, so runs survive a restart.
\`up\` also starts the web UI (\`fineflow ui\`) on 127.0.0.1 in the background (\`--no-ui\` skips it; its log
is logs/ui.log in the state dir); \`status\` shows its URL, \`down\` stops it with the stack.
Ports: FINEFLOW_TEMPORAL_PORT (7233), FINEFLOW_TEMPORAL_UI_PORT (8233), FINEFLOW_MINIO_PORT (9000),
FINEFLOW_MINIO_CONSOLE_PORT (9001), FINEFLOW_UI_PORT (${DEFAULT_UI_PORT}); state dir FINEFLOW_STACK_DIR.
\`up\` records its ports in ports.json in the state dir: \`status\`, \`logs\`, \`down\` and \`up\` in a shell that does
not set those variables use the recorded ports (a variable the shell sets wins).
\`seed [EXAMPLE…]\` pushes the data the examples in pipelines/ name (default: all of them) from the repo's
seeded generators as dataset versions (a prefix that has one is left alone; \`--refresh\` pushes over it,
for data an older Fineflow generated), then names the base models they need and the order to submit them
in (needs the stack's S3 settings, as \`data push\`); with \`--with-models\` it submits the pipelines that
register the missing ones and watches each to its end.
Exit codes: 0 ok / healthy, 1 not healthy, 3 the stack could not be started.`,
  subcommands: ['up', 'down', 'status', 'logs', 'seed'],
  examples: [
    {
      command: 'fineflow dev up',
      explanation: 'start Temporal, MinIO and the web UI locally (state kept across restarts)',
    },
    { command: 'fineflow dev status --json', explanation: 'health of the stack, as JSON' },
    { command: 'fineflow dev logs temporal', explanation: "the Temporal server's log" },
    { command: 'fineflow dev down', explanation: 'stop the stack' },
    {
      command: 'fineflow dev seed sweep tabular',
      explanation: 'push the data those examples read and say which base models to pretrain first',
    },
  ],
  json: true,
  jsonRefusedFor: { logs: 'it follows the servers’ log files as text; `fineflow dev status --json` reports health' },
  options: [
    { name: 'no-ui', kind: 'boolean', description: 'up: start the stack without the web UI' },
    {
      name: 'with-models',
      kind: 'boolean',
      description: 'seed: also submit the pretrain pipelines of missing base models and watch them (needs workers)',
    },
    {
      name: 'refresh',
      kind: 'boolean',
      description:
        "seed: push the seeded data even where a version exists, replacing what an older Fineflow's generators wrote",
    },
  ],
  async run(args, io) {
    const [sub, ...rest] = args.positionals;
    if (!sub || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
      throw subcommandError(sub, SUBCOMMANDS);
    }
    const json = args.flags.json === true;
    if (sub !== 'seed' && args.flags.refresh === true) throw new UsageError('--refresh is an option of dev seed');
    if (sub === 'seed')
      return devSeedCommand(rest, io, {
        json,
        withModels: args.flags['with-models'] === true,
        refresh: args.flags.refresh === true,
      });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { devUiStatus, startDevUi, stopDevUi } = require('../dev-ui') as typeof DevUiModule;
    const stackDir = stackDirOf(io.env, io.cwd);
    const out = json ? io.stderr : io.stdout;
    const { env, recorded } = withRecordedPorts(io.env, stackDir);
    if (recorded.length > 0) {
      const unset =
        recorded.length === STACK_PORT_VARIABLES.length ? 'no FINEFLOW_*_PORT' : `not ${recorded.join(', ')}`;
      out.write(
        `stack: ports as \`fineflow dev up\` recorded them in ${stackPortsFile(stackDir)} (this shell sets ${unset})\n`,
      );
    }
    io = { ...io, env };
    const endpoints = stackEndpoints(io.env, io.cwd);
    if (sub === 'down' && (await stopDevUi(stackDir))) out.write('stack: ui stopped\n');
    const code = await runStackScript([sub as Subcommand, ...rest], io, out);
    if (sub === 'down' && code === 0 && rest.length === 0) rmSync(stackPortsFile(stackDir), { force: true });
    if (sub === 'up' && code === 0) recordStackPorts(io.env, stackDir, io.cwd);
    if (sub === 'logs' || sub === 'down') {
      if (json) io.stdout.write(`${JSON.stringify({ ok: code === 0 })}\n`); // only `down`: logs refuses --json
      return code === 0 ? EXIT.ok : EXIT.failure;
    }
    const healthy = code === 0;
    let ui: DevUiStatus | undefined;
    if (sub === 'up' && healthy && args.flags['no-ui'] !== true) {
      const started = await startDevUi({
        stackDir,
        port: endpoints.ui.port,
        env: { ...io.env, ...endpoints.env } as NodeJS.ProcessEnv,
        temporalUiUrl: endpoints.temporal.ui,
        cwd: io.cwd,
      });
      out.write(`stack: ui ${started.started ? 'up' : 'already up'}: ${started.url} (log ${stackDir}/logs/ui.log)\n`);
      ui = started;
    } else if (sub === 'status') {
      ui = await devUiStatus(stackDir, endpoints.ui.port);
      out.write(`  UI        ${ui.url}  ${devUiStatusText(ui, endpoints.ui.port)}\n`);
    }
    const uiJson = ui
      ? { url: ui.url, running: ui.running, ...(ui.portHeld ? { portHeld: true } : {}) }
      : { url: `http://127.0.0.1:${endpoints.ui.port}`, running: false };
    // Bounded (POOL_POLLERS_TIMEOUT_MS) and asked only of a healthy stack.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { pollersOfPools } = require('../../client/worker-presence') as typeof WorkerPresenceModule;
    const workers = healthy ? await pollersOfPools(endpoints.temporal.address, 'default', DEV_STACK_POOLS) : undefined;
    if (json) {
      const workersJson = workers && ('error' in workers ? workers : { pollers: Object.fromEntries(workers.pollers) });
      io.stdout.write(`${JSON.stringify({ healthy, ...endpoints, ui: uiJson, workers: workersJson }, null, 2)}\n`);
    } else if (healthy) {
      const exports = Object.entries(endpoints.env).map(([name, value]) => `export ${name}=${value}`);
      exports.push(`export FINEFLOW_S3_SECRET_KEY="$(${endpoints.secretKeyCommand})"`);
      io.stdout.write(`\nTo use this stack from a shell:\n${exports.join('\n')}\n`);
      if (workers) io.stdout.write(`\n${workersLine(workers)}\n`);
    }
    if (healthy) return EXIT.ok;
    return sub === 'up' ? EXIT.unavailable : EXIT.failure;
  },
};
