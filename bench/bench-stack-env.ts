/**
 * The environment of `npm run bench`'s dedicated dev stack. Like scripts/test.sh's `FINEFLOW_TEST_*`,
 * `FINEFLOW_BENCH_*` choose its ports and state dir, so two benches on one machine (two clones, two
 * engineers) each start their own stack instead of colliding on fixed ports:
 *
 * | variable | default |
 * |---|---|
 * | FINEFLOW_BENCH_TEMPORAL_PORT / FINEFLOW_BENCH_TEMPORAL_UI_PORT | 7255 / 8255 |
 * | FINEFLOW_BENCH_MINIO_PORT / FINEFLOW_BENCH_MINIO_CONSOLE_PORT | 9255 / 9256 |
 * | FINEFLOW_BENCH_STACK_DIR | `<repo>/.fineflow/bench-stack` |
 */
import path from 'node:path';

const PORTS = {
  temporal: ['FINEFLOW_BENCH_TEMPORAL_PORT', 7255],
  ui: ['FINEFLOW_BENCH_TEMPORAL_UI_PORT', 8255],
  minio: ['FINEFLOW_BENCH_MINIO_PORT', 9255],
  console: ['FINEFLOW_BENCH_MINIO_CONSOLE_PORT', 9256],
} as const;

function portOf(env: NodeJS.ProcessEnv, variable: string, fallback: number): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535)
    throw new Error(`${variable}=${raw}: give a port number from 1 to 65535 (default ${fallback})`);
  return port;
}

/** `env` plus the bench stack's ports, state dir and the client addresses that point at it. */
export function benchStackEnv(env: NodeJS.ProcessEnv, root: string): NodeJS.ProcessEnv {
  const ports = Object.values(PORTS).map(([variable, fallback]) => String(portOf(env, variable, fallback)));
  const clash = ports.find((port, i) => ports.indexOf(port) !== i);
  if (clash) throw new Error(`FINEFLOW_BENCH_*_PORT: port ${clash} is given twice; the four ports must differ`);
  return {
    ...env,
    FINEFLOW_STACK_DIR: env.FINEFLOW_BENCH_STACK_DIR || path.join(root, '.fineflow', 'bench-stack'),
    FINEFLOW_TEMPORAL_PORT: ports[0],
    FINEFLOW_TEMPORAL_UI_PORT: ports[1],
    FINEFLOW_MINIO_PORT: ports[2],
    FINEFLOW_MINIO_CONSOLE_PORT: ports[3],
    // infra/stack.sh's port messages name FINEFLOW_BENCH_*_PORT, the variables read here.
    FINEFLOW_STACK_PORT_VARIABLES: 'FINEFLOW_BENCH_',
    FINEFLOW_STACK_UP_COMMAND: 'npm run bench …',
    TEMPORAL_ADDRESS: `127.0.0.1:${ports[0]}`,
    FINEFLOW_S3_ENDPOINT: `http://127.0.0.1:${ports[2]}`,
  };
}
