/** `npm run bench`'s stack takes its ports and state dir from FINEFLOW_BENCH_*, so two benches can run at once. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { benchStackEnv } from '../../../bench/bench-stack-env';

const PORT_VARIABLES = [
  'FINEFLOW_TEMPORAL_PORT',
  'FINEFLOW_TEMPORAL_UI_PORT',
  'FINEFLOW_MINIO_PORT',
  'FINEFLOW_MINIO_CONSOLE_PORT',
] as const;

const ACCEPTED: readonly {
  readonly name: string;
  readonly given: Record<string, string>;
  readonly stackDir: string;
  readonly ports: readonly string[];
}[] = [
  {
    name: 'keeps the documented defaults when nothing is set',
    given: { PATH: '/bin' },
    stackDir: '/repo/.fineflow/bench-stack',
    ports: ['7255', '8255', '9255', '9256'],
  },
  {
    name: 'takes every port and the state dir from FINEFLOW_BENCH_*, over a TEMPORAL_ADDRESS already set',
    given: {
      PATH: '/bin',
      FINEFLOW_BENCH_TEMPORAL_PORT: '11901',
      FINEFLOW_BENCH_TEMPORAL_UI_PORT: '11902',
      FINEFLOW_BENCH_MINIO_PORT: '11903',
      FINEFLOW_BENCH_MINIO_CONSOLE_PORT: '11904',
      FINEFLOW_BENCH_STACK_DIR: '/tmp/second-bench',
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
    },
    stackDir: '/tmp/second-bench',
    ports: ['11901', '11902', '11903', '11904'],
  },
];

for (const { name, given, stackDir, ports } of ACCEPTED) {
  it(`${name}; the client addresses follow the ports`, () => {
    const env = benchStackEnv(given, '/repo');
    assert.equal(env.PATH, '/bin');
    assert.equal(env.FINEFLOW_STACK_DIR, stackDir);
    assert.deepEqual(
      PORT_VARIABLES.map((variable) => env[variable]),
      ports,
    );
    assert.equal(env.TEMPORAL_ADDRESS, `127.0.0.1:${ports[0]}`);
    assert.equal(env.FINEFLOW_S3_ENDPOINT, `http://127.0.0.1:${ports[2]}`);
  });
}

const REFUSED: readonly { readonly given: Record<string, string>; readonly error: RegExp }[] = [
  {
    given: { FINEFLOW_BENCH_MINIO_PORT: '9255x' },
    error: /FINEFLOW_BENCH_MINIO_PORT=9255x: give a port number from 1 to 65535 \(default 9255\)/,
  },
  { given: { FINEFLOW_BENCH_TEMPORAL_PORT: '70000' }, error: /FINEFLOW_BENCH_TEMPORAL_PORT/ },
  { given: { FINEFLOW_BENCH_TEMPORAL_PORT: '9255' }, error: /port 9255 is given twice/ },
];

for (const { given, error } of REFUSED) {
  it(`refuses ${JSON.stringify(given)}, naming what is wrong`, () => {
    assert.throws(() => benchStackEnv(given, '/repo'), error);
  });
}
