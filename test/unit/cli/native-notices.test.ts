/**
 * `fineflow predict`, `serve` and `models export` load native TensorFlow, whose start-up notices (absl's "All log
 * messages before absl::InitializeLog()" and the oneDNN line) came before the command's own output on stderr.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { EXIT } from '../../../src/cli/command';
import { loadsNativeTf } from '../../../src/cli/native-notices';
import { createTfNoticeFilter } from '../../../src/ml/tf-notices';

const bin = path.resolve(__dirname, '../../../bin/fineflow.js');

function runBin(args: readonly string[], env: NodeJS.ProcessEnv, cwd: string) {
  const child = spawn(process.execPath, [bin, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdout.resume();
  return new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, stderr })),
  );
}

it('fineflow predict prints no libtensorflow start-up notice, and its own error whole', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fineflow-notices-'));
  try {
    writeFileSync(path.join(dir, 'rows.csv'), 'a,b\n1,2\n');
    // The backend loads before the model is fetched; the store on port 1 refuses at once (exit 3).
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      FINEFLOW_TF_BACKEND: 'native',
      FINEFLOW_S3_ENDPOINT: 'http://127.0.0.1:1',
      FINEFLOW_CODEC: 'off',
    };
    delete env.FINEFLOW_CLI_NATIVE_CHILD;
    const result = await runBin(['predict', 's3://fineflow/runs/R/finetune/model/model.json', 'rows.csv'], env, dir);
    assert.equal(result.code, EXIT.unavailable, result.stderr);
    assert.doesNotMatch(result.stderr, /absl::InitializeLog|oneDNN|cpu_feature_guard/);
    assert.match(result.stderr, /^fineflow predict: .+$/m);
    assert.match(result.stderr, /127\.0\.0\.1:1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it(
  'fineflow setup prints no libtensorflow start-up notice, and says the backend is ready',
  { timeout: 300_000 },
  async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fineflow-notices-'));
    try {
      // The suite provisioned the native backend (scripts/test.sh runs the same setup): this restores it, cached.
      const env: NodeJS.ProcessEnv = { ...process.env };
      delete env.FINEFLOW_CLI_NATIVE_CHILD;
      const child = spawn(process.execPath, [bin, 'setup'], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      assert.equal(code, EXIT.ok, `${stdout}\n${stderr}`);
      assert.match(stdout, /^native TensorFlow backend: ready; graph addon: ready$/m);
      assert.doesNotMatch(stderr, /absl::InitializeLog|oneDNN|cpu_feature_guard/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

it('the notice filter drops the notices only, whole lines, and the instructions line only after its notice', () => {
  const isNotice = createTfNoticeFilter();
  const lines = [
    'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR',
    'I0000 00:00:1796592293.334199   20504 port.cc:153] oneDNN custom operations are on. You may see slightly ' +
      'different numerical results due to floating-point round-off errors from different computation orders. To ' +
      'turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.',
    'To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the appropriate ' +
      'compiler flags.',
    'E0000 00:00:1796592293.334199   20504 some_op.cc:12] a real error',
    'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR, and more',
  ];
  assert.deepEqual(
    lines.map((line) => isNotice(line)),
    [true, true, false, false, false],
  );
});

it('predict, serve, models export and setup run in the filtering child; only setup with the pure-JS backend', () => {
  const env = {};
  assert.equal(loadsNativeTf(['predict', 'm', 'x.csv'], env), true);
  assert.equal(loadsNativeTf(['serve', 'm'], env), true);
  assert.equal(loadsNativeTf(['models', 'export', 'm'], env), true);
  assert.equal(loadsNativeTf(['models', 'list'], env), false);
  assert.equal(loadsNativeTf(['status', 'R'], env), false);
  assert.equal(loadsNativeTf(['predict', '--help'], env), false);
  assert.equal(loadsNativeTf(['predict', 'm', 'x.csv'], { FINEFLOW_TF_BACKEND: 'cpu' }), false);
  assert.equal(loadsNativeTf(['predict', 'm', 'x.csv'], { FINEFLOW_CLI_NATIVE_CHILD: '1' }), false);
  assert.equal(loadsNativeTf(['setup'], env), true);
  assert.equal(loadsNativeTf(['setup', '--json'], { FINEFLOW_TF_BACKEND: 'cpu' }), true, 'setup checks native anyway');
  assert.equal(loadsNativeTf(['setup', '--help'], env), false);
});

/**
 * `fineflow serve` started against a store that accepts connections and never answers: the command's child stays
 * loading the model until a signal ends it. Resolves once the child has connected (it is running), with its pid.
 */
async function startHangingServe(): Promise<{
  parent: ReturnType<typeof spawn>;
  parentClosed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  childPid: number;
  stop: () => Promise<void>;
}> {
  const sockets: Socket[] = [];
  let connected!: () => void;
  const firstConnection = new Promise<void>((resolve) => (connected = resolve));
  const store: Server = createServer((socket) => {
    sockets.push(socket);
    connected();
  });
  await new Promise<void>((resolve) => store.listen(0, '127.0.0.1', resolve));
  const port = (store.address() as { port: number }).port;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FINEFLOW_TF_BACKEND: 'native',
    FINEFLOW_S3_ENDPOINT: `http://127.0.0.1:${port}`,
    FINEFLOW_CODEC: 'off',
  };
  delete env.FINEFLOW_CLI_NATIVE_CHILD;
  const parent = spawn(
    process.execPath,
    [bin, 'serve', 's3://fineflow/runs/R/finetune/model/model.json', '--port', '0'],
    {
      env,
      stdio: ['ignore', 'ignore', 'ignore'],
    },
  );
  const parentClosed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    parent.once('close', (code, signal) => resolve({ code, signal })),
  );
  await firstConnection;
  const pid = parent.pid ?? 0;
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
  assert.equal(children.length, 1, `the fineflow process should have one child, has ${children.join(', ')}`);
  const childPid = children[0] as number;
  return {
    parent,
    parentClosed,
    childPid,
    stop: async () => {
      for (const target of [pid, childPid]) if (alive(target)) process.kill(target, 'SIGKILL');
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => store.close(() => resolve()));
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves when `pid` no longer exists (checked every 50 ms; the test's timeout bounds it). */
async function exited(pid: number): Promise<void> {
  while (alive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
}

it(
  'SIGINT sent to the fineflow process alone (kill -INT, a supervisor) ends the command and its child',
  { timeout: 60_000 },
  async () => {
    // Before: the parent ignored SIGINT (Ctrl-C was assumed to reach the child too), so it reached nobody.
    const serve = await startHangingServe();
    try {
      serve.parent.kill('SIGINT');
      const closed = await serve.parentClosed;
      assert.equal(closed.code, 0, "the exit code is the child's: serve stopped while loading, gracefully");
      await exited(serve.childPid);
    } finally {
      await serve.stop();
    }
  },
);

it(
  'the fineflow process killed with SIGKILL leaves no orphaned child holding the model or port',
  { timeout: 60_000 },
  async () => {
    // Before: the child of a killed `fineflow serve` kept running on its own.
    const serve = await startHangingServe();
    try {
      serve.parent.kill('SIGKILL');
      await serve.parentClosed;
      await exited(serve.childPid);
    } finally {
      await serve.stop();
    }
  },
);

/** The state letter of `pid` in /proc (T: stopped). */
function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

/**
 * Resolves when `pid` is stopped (`stopped` true) or running again (false); checked every 50 ms. Throws after 20 s, so
 * the test's clean-up still kills a process left stopped (the test's own timeout would leave it, and the run, hanging).
 */
async function stoppedState(pid: number, stopped: boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((processState(pid) === 'T') !== stopped) {
    if (Date.now() > deadline) throw new Error(`process ${pid} is ${stopped ? 'not stopped' : 'still stopped'}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it(
  'Ctrl-Z (SIGTSTP to the fineflow process) stops the command child too, and fg (SIGCONT) continues both',
  { timeout: 60_000 },
  async () => {
    // Before: the child, in its own process group, never saw the terminal's SIGTSTP and kept running (serving).
    const serve = await startHangingServe();
    try {
      const pid = serve.parent.pid ?? 0;
      serve.parent.kill('SIGTSTP');
      await stoppedState(serve.childPid, true);
      await stoppedState(pid, true);
      serve.parent.kill('SIGCONT');
      await stoppedState(pid, false);
      await stoppedState(serve.childPid, false);
      // Job control again, then the command still ends on SIGINT as before.
      serve.parent.kill('SIGTSTP');
      await stoppedState(serve.childPid, true);
      serve.parent.kill('SIGCONT');
      await stoppedState(serve.childPid, false);
      serve.parent.kill('SIGINT');
      assert.equal((await serve.parentClosed).code, 0);
    } finally {
      await serve.stop();
    }
  },
);

it(
  'SIGTERM while serve loads its model ends it as after loading: closed gracefully, exit 0',
  { timeout: 60_000 },
  async () => {
    // Before: no handler yet during the load, so SIGTERM's default action ended the child and fineflow exited 143.
    const serve = await startHangingServe();
    try {
      serve.parent.kill('SIGTERM');
      assert.deepEqual(await serve.parentClosed, { code: 0, signal: null });
      await exited(serve.childPid);
    } finally {
      await serve.stop();
    }
  },
);
