/**
 * The `command` stage type: runs a program on the worker (e.g. `python train.py`) in a fresh work
 * directory, with declared inputs downloaded and declared outputs uploaded by the stage runner
 * (activities/command.ts). The shape follows what Argo's script templates and KFP's container
 * components give their users, in Fineflow's terms: artifacts are store URIs, small JSON comes
 * back through a results file, progress through a line protocol on stdout.
 *
 * Every string a pipeline author writes here is bounded (argv, environment, inline files, paths),
 * because authors are untrusted; the executable itself is not theirs to choose beyond the names
 * the worker's operator allows (FINEFLOW_COMMAND_ALLOW).
 */
import type { JsonObject } from '../core/spec/plan-types';
import type { InputSchema } from './schema-language';
import type { StageInputProblem, StageTypeDefinition } from './stage-type-definition';

/** Bounds on what an author may write; the runtime check (checkInputs) and validate share them. */
export const COMMAND_LIMITS = Object.freeze({
  argvItems: 256,
  argvBytes: 128 * 1024,
  envVariables: 256,
  envBytes: 64 * 1024,
  inlineFileBytes: 256 * 1024,
  inlineFilesBytes: 1024 * 1024,
  declaredItems: 64,
  pathLength: 255,
  paramsBytes: 64 * 1024,
});

/** A relative path inside the work directory: no `..`, no leading `/`, no empty segment. */
export const RELATIVE_PATH = /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))(?!.*\/\/)[A-Za-z0-9._+@=,\- /]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Variables an author may not set: the loader's and shells' hooks, and the runner's own. */
const RESERVED_ENV = /^(?:LD_.*|DYLD_.*|FINEFLOW_.*|PATH|HOME|TMPDIR|BASH_ENV|ENV|NODE_OPTIONS|PYTHONSTARTUP)$/;
/** sysexits EX_TEMPFAIL: "temporary failure, the user is invited to retry". */
export const DEFAULT_RETRY_EXIT_CODES: readonly number[] = [75];

const path = (description: string): InputSchema => ({
  type: 'string',
  minLength: 1,
  maxLength: COMMAND_LIMITS.pathLength,
  pattern: RELATIVE_PATH.source,
  description,
});

const INPUT_ENTRY: InputSchema = {
  type: 'oneOf',
  description: 'a URI (downloaded as a file), or {uri, as, path}',
  variants: [
    { type: 'uri', schemes: ['s3', 'file', 'http', 'https'] },
    {
      type: 'object',
      properties: {
        uri: { type: 'uri', schemes: ['s3', 'file', 'http', 'https'], description: 'what to download' },
        as: {
          type: 'enum',
          values: ['file', 'folder', 'dataset'],
          default: 'file',
          description:
            'file: one object; folder: every object under an s3:// prefix; dataset: a prepare-data manifest and its ' +
            'shards (sha256 verified)',
        },
        path: path('where it lands in the work directory (default inputs/<name>)'),
      },
      required: ['uri'],
    },
  ],
};

const OUTPUT_ENTRY: InputSchema = {
  type: 'oneOf',
  description: 'a relative path (a file), or {path, type, optional}',
  variants: [
    path('file the program writes'),
    {
      type: 'object',
      properties: {
        path: path('file or folder the program writes, relative to the work directory'),
        type: { type: 'enum', values: ['file', 'folder'], default: 'file', description: 'one file or a whole folder' },
        optional: { type: 'boolean', default: false, description: 'a missing output is not an error' },
      },
      required: ['path'],
    },
  ],
};

export const COMMAND_STAGE_TYPE: StageTypeDefinition = {
  name: 'command',
  version: '1.0.0',
  description:
    'Run a program on the worker (e.g. python train.py) in a fresh work directory: declared inputs downloaded, ' +
    'declared outputs uploaded with their sha256, results and metrics read from $FINEFLOW_RESULTS, progress from `::fineflow::` lines on stdout.',
  inputs: {
    type: 'object',
    properties: {
      run: {
        type: 'array',
        items: { type: 'string', maxLength: 4096 },
        minItems: 1,
        maxItems: COMMAND_LIMITS.argvItems,
        description:
          'argv: run[0] is a name the worker allows (FINEFLOW_COMMAND_ALLOW), the rest its arguments; no ' +
          'shell is involved',
      },
      inputs: {
        type: 'object',
        additionalProperties: INPUT_ENTRY,
        description: 'name → URI downloaded before the program starts (to inputs/<name> unless `path` says otherwise)',
      },
      files: {
        type: 'object',
        additionalProperties: { type: 'string', maxLength: COMMAND_LIMITS.inlineFileBytes },
        description: 'relative path → text written into the work directory (small scripts, configs)',
      },
      params: {
        type: 'object',
        additionalProperties: { type: 'any' },
        description:
          'values for the program, written as JSON to the file $FINEFLOW_PARAMS names (a sweep lays its sampled ' +
          'values here: space `params.NAME`)',
      },
      env: {
        type: 'object',
        additionalProperties: { type: 'string', maxLength: 32_768 },
        description: 'environment variables of the program (the worker passes none of its own)',
      },
      secretEnv: {
        type: 'object',
        additionalProperties: {
          type: 'string',
          secret: true,
          description: 'a ${{ secrets.NAME }} reference, opened on the worker',
        },
        description: 'environment variables holding secrets; their values are scrubbed from logs and outputs',
      },
      outputs: {
        type: 'object',
        additionalProperties: OUTPUT_ENTRY,
        description:
          'name → file or folder uploaded after a successful exit; `outputs.artifacts.<name>` is its s3:// URI',
      },
      environment: {
        type: 'object',
        description:
          'what the program depends on beyond its inputs; part of the cache key, so a changed environment misses',
        properties: {
          digest: {
            type: 'string',
            minLength: 1,
            maxLength: 256,
            description: 'e.g. sha256 of the lock file of the interpreter’s packages',
          },
          description: { type: 'string', maxLength: 1024, description: 'free text' },
        },
        required: ['digest'],
      },
      retryExitCodes: {
        type: 'array',
        items: { type: 'integer', minimum: 1, maximum: 255 },
        maxItems: 255,
        default: [...DEFAULT_RETRY_EXIT_CODES],
        description:
          "exit codes that mean 'try again' (retryable under the stage's retry policy); any other non-zero code " +
          'fails the stage for good',
      },
      killGracePeriod: {
        type: 'duration',
        default: '10s',
        description: 'on cancel or timeout: time between SIGTERM and SIGKILL to the process group',
      },
    },
    required: ['run'],
  },
  outputs: {
    artifacts: { type: 'object', description: 'declared output name → s3:// URI (a folder: its prefix)' },
    files: { type: 'object', description: 'declared output name → {uri, sha256, bytes, files}' },
    values: { type: 'object', description: '`outputs` of the results file ($FINEFLOW_RESULTS)' },
    metrics: { type: 'object', description: '`metrics` of the results file, plus the last metrics of progress lines' },
    exitCode: { type: 'integer', description: 'exit code of the program (0)' },
    durationMs: { type: 'integer', description: 'wall time of the program' },
  },
  checkInputs: checkCommandInputs,
};

function entries(inputs: JsonObject, key: string): [string, unknown][] {
  const value = inputs[key];
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : [];
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

function checkCounts(inputs: JsonObject, problems: StageInputProblem[]): void {
  for (const key of ['inputs', 'outputs', 'files'] as const) {
    const count = entries(inputs, key).length;
    if (count > COMMAND_LIMITS.declaredItems)
      problems.push({
        path: key,
        message: `${key} declares ${count} entries; at most ${COMMAND_LIMITS.declaredItems}`,
        hint: `put related ${key === 'outputs' ? 'files in one folder output' : 'objects under one prefix and use as: folder'}`,
      });
  }
}

function checkArgv(inputs: JsonObject, problems: StageInputProblem[]): void {
  const run = inputs.run;
  if (!Array.isArray(run)) return;
  const bytes = run.reduce<number>((sum, arg) => sum + (typeof arg === 'string' ? byteLength(arg) + 1 : 0), 0);
  if (bytes > COMMAND_LIMITS.argvBytes)
    problems.push({
      path: 'run',
      message: `run is ${bytes} bytes long; at most ${COMMAND_LIMITS.argvBytes}`,
      hint: 'pass long values through `files:` or an input instead of the command line',
    });
  if (typeof run[0] === 'string' && run[0] !== '' && !/^[A-Za-z0-9/][A-Za-z0-9._+/-]*$/.test(run[0]))
    problems.push({
      path: 'run.0',
      message: `run[0] ${JSON.stringify(run[0])} is not an executable name`,
      hint: 'write the name the worker allows (FINEFLOW_COMMAND_ALLOW), e.g. python; no shell syntax',
    });
}

function checkEnv(inputs: JsonObject, problems: StageInputProblem[]): void {
  const names = [...entries(inputs, 'env'), ...entries(inputs, 'secretEnv')];
  let bytes = 0;
  for (const [name, value] of names) {
    const key = entries(inputs, 'env').some(([n]) => n === name) ? 'env' : 'secretEnv';
    if (!ENV_NAME.test(name))
      problems.push({
        path: `${key}.${name}`,
        message: `${key}.${name}: not an environment variable name`,
        hint: 'use letters, digits and _, not starting with a digit',
      });
    else if (RESERVED_ENV.test(name))
      problems.push({
        path: `${key}.${name}`,
        message: `${key}.${name}: ${name} is set by the worker, or changes how executables load, and cannot be set here`,
        hint:
          'choose another name (LD_*, DYLD_*, FINEFLOW_*, PATH, HOME, TMPDIR, BASH_ENV, ENV, NODE_OPTIONS, ' +
          'PYTHONSTARTUP are reserved)',
      });
    bytes += byteLength(name) + (typeof value === 'string' ? byteLength(value) : 0) + 2;
  }
  if (names.length > COMMAND_LIMITS.envVariables)
    problems.push({
      path: 'env',
      message: `${names.length} environment variables; at most ${COMMAND_LIMITS.envVariables}`,
      hint: 'pass settings in a file (`files:`) instead',
    });
  if (bytes > COMMAND_LIMITS.envBytes)
    problems.push({
      path: 'env',
      message: `the environment is ${bytes} bytes; at most ${COMMAND_LIMITS.envBytes}`,
      hint: 'pass large values in a file (`files:`) instead',
    });
  for (const [name] of entries(inputs, 'secretEnv'))
    if (entries(inputs, 'env').some(([n]) => n === name))
      problems.push({
        path: `secretEnv.${name}`,
        message: `${name} is set in both env and secretEnv`,
        hint: 'keep one of them',
      });
}

function checkPaths(inputs: JsonObject, problems: StageInputProblem[]): void {
  let inlineBytes = 0;
  for (const [name, text] of entries(inputs, 'files')) {
    if (!RELATIVE_PATH.test(name) || name.length > COMMAND_LIMITS.pathLength)
      problems.push({
        path: `files.${name}`,
        message: `files: ${JSON.stringify(name)} is not a relative path inside the work directory`,
        hint: 'write e.g. train.py or conf/settings.json: no leading /, no .., letters, digits and ._+@=,- only',
      });
    if (typeof text === 'string') inlineBytes += byteLength(text);
  }
  if (inlineBytes > COMMAND_LIMITS.inlineFilesBytes)
    problems.push({
      path: 'files',
      message: `inline files total ${inlineBytes} bytes; at most ${COMMAND_LIMITS.inlineFilesBytes}`,
      hint: 'upload larger files to the store and list them under `inputs:`',
    });
  for (const [name] of [...entries(inputs, 'inputs'), ...entries(inputs, 'outputs')])
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name))
      problems.push({
        path: entries(inputs, 'inputs').some(([n]) => n === name) ? `inputs.${name}` : `outputs.${name}`,
        message: `${JSON.stringify(name)} is not a valid input/output name`,
        hint: 'use letters, digits, . _ - (at most 64), starting with a letter or digit',
      });
}

function checkParams(inputs: JsonObject, problems: StageInputProblem[]): void {
  const params = inputs.params;
  if (params === undefined) return;
  const count = entries(inputs, 'params').length;
  if (count > COMMAND_LIMITS.declaredItems * 4)
    problems.push({
      path: 'params',
      message: `params has ${count} entries; at most ${COMMAND_LIMITS.declaredItems * 4}`,
      hint: 'group related values in one nested mapping',
    });
  const bytes = byteLength(JSON.stringify(params));
  if (bytes > COMMAND_LIMITS.paramsBytes)
    problems.push({
      path: 'params',
      message: `params is ${bytes} bytes as JSON; at most ${COMMAND_LIMITS.paramsBytes}`,
      hint: 'pass large values through an input (`inputs:`) or `files:` instead',
    });
}

/** Checks across fields of `command`'s inputs; see {@link COMMAND_LIMITS}. */
export function checkCommandInputs(inputs: JsonObject): StageInputProblem[] {
  const problems: StageInputProblem[] = [];
  checkParams(inputs, problems);
  checkCounts(inputs, problems);
  checkArgv(inputs, problems);
  checkEnv(inputs, problems);
  checkPaths(inputs, problems);
  return problems;
}
