/**
 * Stage `command`: runs a program the worker's operator allows (FINEFLOW_COMMAND_ALLOW) in a fresh
 * work directory. Inputs are downloaded first, inline files written, then the program runs with
 * an environment built from scratch (never the worker's own: it holds the store's keys); its
 * stdout and stderr stream to the stage log, `::fineflow::` lines on stdout report progress
 * (src/command/line-protocol.ts). After exit 0 the declared outputs are uploaded with their sha256
 * and the results file is read; any other ending maps onto a retryable or non-retryable error
 * (src/command/exit-status.ts). The work directory is removed whatever happened.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CommandConfig } from '../src/command/command-config';
import { exitFailure } from '../src/command/exit-status';
import { parseProtocolLine } from '../src/command/line-protocol';
import { runProcess } from '../src/command/run-process';
import {
  ByteBudget,
  downloadInputs,
  insideDir,
  readResults,
  uploadOutput,
  type InputDeclaration,
  type OutputDeclaration,
  type UploadedOutput,
} from '../src/command/work-dir';
import { CancelledError, InvalidInputError } from '../src/core/errors';
import { formatHumanDuration, parseDuration } from '../src/core/spec/durations';
import type { JsonObject, JsonValue } from '../src/core/spec/plan-types';
import type { StageActivityInput, StageActivityResult } from '../src/core/run/run-types';
import { outboundPolicy } from '../src/security/outbound';
import { checkStageInputs } from './ml-stage-support';
import type { StageImplementation, StageRuntime } from './stage-runner';

/** Uploaded objects listed in the stage result (each about 150 bytes of the 1.5 MB result cap). */
const MAX_RECORDED_ARTIFACTS = 2_000;
/** Output lines of the program kept for a failure's message. */
const TAIL_LINES = 20;
/** Log lines recorded per attempt; past it lines are counted, not kept (the log is rewritten whole on every flush). */
const MAX_LOG_LINES = 20_000;
/** PATH of the program: the system's directories, never the worker's PATH (which may list the operator's tools). */
const SAFE_PATH = '/usr/local/bin:/usr/bin:/bin';

function record(value: JsonValue | undefined): JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : {};
}

function inputDeclarations(inputs: JsonObject): InputDeclaration[] {
  return Object.entries(record(inputs.inputs)).map(([name, entry]) => {
    const spec = typeof entry === 'string' ? { uri: entry } : record(entry);
    return {
      name,
      uri: String(spec.uri),
      as: (spec.as as InputDeclaration['as'] | undefined) ?? 'file',
      path: typeof spec.path === 'string' ? spec.path : `inputs/${name}`,
    };
  });
}

function outputDeclarations(inputs: JsonObject): OutputDeclaration[] {
  return Object.entries(record(inputs.outputs)).map(([name, entry]) => {
    const spec = typeof entry === 'string' ? { path: entry } : record(entry);
    return {
      name,
      path: String(spec.path),
      type: spec.type === 'folder' ? 'folder' : 'file',
      optional: spec.optional === true,
    };
  });
}

/** The executable behind `run[0]`, or an error listing what this worker allows. */
function allowedExecutable(config: CommandConfig, name: string): string {
  if (Object.prototype.hasOwnProperty.call(config.allow, name)) return config.allow[name] as string;
  const byPath = Object.values(config.allow).find((path) => path === name);
  if (byPath) return byPath;
  const names = Object.keys(config.allow);
  throw new InvalidInputError(
    names.length === 0
      ? `run[0] ${JSON.stringify(name)}: this worker runs no command stages; its operator allows executables with ` +
          `FINEFLOW_COMMAND_ALLOW (docs/security.md)`
      : `run[0] ${JSON.stringify(name)} is not allowed on this worker; allowed: ${names.join(', ')} ` +
          `(FINEFLOW_COMMAND_ALLOW)`,
    { code: 'command-not-allowed', field: 'run.0' },
  );
}

/** Environment of the program: the runner's variables, then the stage's env and secretEnv (already opened). */
function programEnv(inputs: JsonObject, workDir: string, input: StageActivityInput): Record<string, string> {
  const own = Object.fromEntries(
    [...Object.entries(record(inputs.env)), ...Object.entries(record(inputs.secretEnv))].map(([k, v]) => [
      k,
      String(v),
    ]),
  );
  return {
    ...own,
    PATH: SAFE_PATH,
    HOME: workDir,
    TMPDIR: join(workDir, '.fineflow', 'tmp'),
    LANG: 'C.UTF-8',
    PYTHONUNBUFFERED: '1',
    FINEFLOW_WORK_DIR: workDir,
    FINEFLOW_RESULTS: join(workDir, '.fineflow', 'results.json'),
    FINEFLOW_PARAMS: join(workDir, '.fineflow', 'params.json'),
    FINEFLOW_RUN_ID: input.context.runId,
    FINEFLOW_STAGE_ID: input.context.stageId,
    FINEFLOW_ATTEMPT: String(input.context.attempt),
  };
}

/** A stage log that stops keeping lines past {@link MAX_LOG_LINES} but remembers the last few for errors. */
function programLog(runtime: StageRuntime) {
  const tail: string[] = [];
  let lines = 0;
  return {
    tail,
    line(stream: 'out' | 'err', text: string, truncated: boolean): void {
      lines += 1;
      const shown = `${stream === 'err' ? '[stderr] ' : ''}${text}${truncated ? ' …(line cut)' : ''}`;
      tail.push(shown);
      if (tail.length > TAIL_LINES) tail.shift();
      if (lines <= MAX_LOG_LINES) runtime.log(shown);
      else if (lines === MAX_LOG_LINES + 1) runtime.log(`… more than ${MAX_LOG_LINES} lines: the rest is not logged`);
    },
    get dropped(): number {
      return Math.max(0, lines - MAX_LOG_LINES);
    },
  };
}

async function prepareWorkDir(config: CommandConfig, input: StageActivityInput): Promise<string> {
  await mkdir(config.workRoot, { recursive: true, mode: 0o700 });
  const safeStage = input.context.stageId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  const workDir = await mkdtemp(join(config.workRoot, `${safeStage}-`));
  await mkdir(join(workDir, '.fineflow', 'tmp'), { recursive: true });
  return workDir;
}

/** `params` as JSON where $FINEFLOW_PARAMS points (`{}` without params, so a program can always read it). */
async function writeParams(workDir: string, inputs: JsonObject): Promise<void> {
  await writeFile(join(workDir, '.fineflow', 'params.json'), JSON.stringify(record(inputs.params)), { flag: 'wx' });
}

async function writeInlineFiles(workDir: string, inputs: JsonObject): Promise<void> {
  for (const [path, text] of Object.entries(record(inputs.files))) {
    const target = insideDir(workDir, path, `files.${path}`);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, String(text), { flag: 'wx' });
  }
}

async function uploadOutputs(
  runtime: StageRuntime,
  workDir: string,
  input: StageActivityInput,
  outputs: readonly OutputDeclaration[],
  budget: ByteBudget,
): Promise<Record<string, UploadedOutput>> {
  const uploaded: Record<string, UploadedOutput> = {};
  for (const output of outputs) {
    const done = await uploadOutput(runtime.store, workDir, input.context.outputPrefix, output, budget, runtime.log);
    if (!done) {
      runtime.log(`output ${output.name}: ${output.path} not written (optional)`);
      continue;
    }
    uploaded[output.name] = done;
    runtime.log(`output ${output.name}: ${output.path} → ${done.uri} (${done.bytes} bytes, ${done.files} files)`);
  }
  return uploaded;
}

/** The stage's outputs: each uploaded output's URI and digest, the program's values and metrics. */
function commandResult(
  uploaded: Awaited<ReturnType<typeof uploadOutputs>>,
  results: Awaited<ReturnType<typeof readResults>>,
  lastMetrics: Record<string, number>,
  durationMs: number,
): StageActivityResult {
  return {
    outputs: {
      artifacts: Object.fromEntries(Object.entries(uploaded).map(([name, out]) => [name, out.uri])),
      files: Object.fromEntries(
        Object.entries(uploaded).map(([name, { uri, sha256, bytes, files }]) => [name, { uri, sha256, bytes, files }]),
      ),
      values: results.values,
      metrics: { ...lastMetrics, ...results.metrics },
      exitCode: 0,
      durationMs,
    },
    // Bounded: the result crosses Temporal; the cache checks the first objects of a huge folder only.
    artifacts: Object.values(uploaded)
      .flatMap((out) => out.objects)
      .slice(0, MAX_RECORDED_ARTIFACTS),
  };
}

export function createCommandStage(config: CommandConfig): StageImplementation {
  return async function commandStage(input: StageActivityInput, runtime: StageRuntime): Promise<StageActivityResult> {
    const inputs = checkStageInputs('command', input.inputs);
    const run = inputs.run;
    const program = run[0] as string;
    const executable = allowedExecutable(config, program);
    const killGraceMs = parseDuration(inputs.killGracePeriod) ?? 10_000;
    const retryExitCodes = inputs.retryExitCodes;
    const workDir = await prepareWorkDir(config, input);
    try {
      await downloadInputs(workDir, inputDeclarations(inputs), {
        store: runtime.store,
        outbound: outboundPolicy(),
        budget: new ByteBudget(config.maxBytes, 'inputs'),
        signal: runtime.signal,
        log: runtime.log,
      });
      await writeInlineFiles(workDir, inputs);
      await writeParams(workDir, inputs);
      runtime.log(`running ${program} (${executable}) with ${run.length - 1} arguments in ${workDir}`);
      const log = programLog(runtime);
      let lastMetrics: Record<string, number> = {};
      const outcome = await runProcess({
        executable,
        args: run.slice(1),
        cwd: workDir,
        env: programEnv(inputs, workDir, input),
        signal: runtime.signal,
        killGraceMs,
        onStdoutLine(line, truncated) {
          const parsed = parseProtocolLine(line);
          if (parsed.kind === 'progress') {
            lastMetrics = { ...lastMetrics, ...parsed.metrics };
            runtime.heartbeat(parsed.progress);
          } else if (parsed.kind === 'malformed')
            log.line('out', `${parsed.text} (ignored: ${parsed.reason})`, truncated);
          else log.line('out', line, truncated);
        },
        onStderrLine: (line, truncated) => log.line('err', line, truncated),
      });
      if (outcome.stoppedByRunner || runtime.signal.aborted)
        throw new CancelledError(`${program} stopped: the stage was cancelled`, { code: 'command-cancelled' });
      runtime.log(
        `${program} ended after ${formatHumanDuration(outcome.durationMs)}: ` +
          `${outcome.signal ? `signal ${outcome.signal}` : `exit ${outcome.code}`}`,
      );
      const failure = exitFailure(outcome, retryExitCodes, program, log.tail);
      if (failure) throw failure;
      const results = await readResults(join(workDir, '.fineflow', 'results.json'));
      const uploaded = await uploadOutputs(
        runtime,
        workDir,
        input,
        outputDeclarations(inputs),
        new ByteBudget(config.maxBytes, 'outputs'),
      );
      return commandResult(uploaded, results, lastMetrics, outcome.durationMs);
    } finally {
      await rm(workDir, { recursive: true, force: true, maxRetries: 2 }).catch((error: unknown) =>
        runtime.log(`could not remove the work directory ${workDir}: ${String(error)}`),
      );
    }
  };
}
