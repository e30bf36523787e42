/**
 * Runs the bundled Keras converter (keras-export.py) for `fineflow models export --format
 * keras|savedmodel` in a Python with TensorFlow: `FINEFLOW_EXPORT_PYTHON`, or the virtual
 * environment `infra/keras/setup-venv.sh` creates once in the cache directory. The child gets its
 * own process group, no shell, a bounded run time and an environment built from scratch (no S3
 * keys, no tokens: it only reads files Fineflow wrote); its stderr tail goes into the error.
 */
import { existsSync } from 'node:fs';
import { CancelledError, InvalidInputError, ResourceLimitError } from '../../core/errors';
import { runProcess } from '../../command/run-process';
import { packageFile } from '../../package-paths';

/** The converter shipped with the package. */
export const KERAS_EXPORT_SCRIPT = packageFile('src', 'ml', 'models', 'keras-export.py');
/** The script that creates the default Python (TensorFlow from PyPI, cached). */
export const KERAS_SETUP_SCRIPT = packageFile('infra', 'keras', 'setup-venv.sh');
/** Importing TensorFlow, saving and reloading a small model: well under a minute; ten is the bound. */
export const KERAS_EXPORT_TIMEOUT_MS = 10 * 60 * 1000;
const STDERR_TAIL_LINES = 30;

export interface KerasCheck {
  readonly tensorflow: string;
  readonly keras: string;
  readonly probeExamples: number;
  readonly maxAbsDifference: number;
}

export interface KerasExportRequest {
  readonly python: string;
  readonly tfjsDir: string;
  readonly format: 'keras' | 'savedmodel';
  readonly output: string;
  readonly probeFile: string;
  readonly tolerance: number;
  /** A scratch directory the child may use as HOME (Keras writes its config there). */
  readonly scratch: string;
  readonly signal?: AbortSignal;
}

/**
 * The Python to run: the configured one, else the cached venv when it exists. `undefined` with
 * the fix in `missing` when neither is there.
 */
export function exportPython(config: { readonly python?: string; readonly defaultPython: string }): {
  python?: string;
  missing?: string;
} {
  if (config.python) return { python: config.python };
  if (existsSync(config.defaultPython)) return { python: config.defaultPython };
  return {
    missing:
      `the keras and savedmodel formats need Python with TensorFlow 2.16+ (Keras 3): run \`bash ${KERAS_SETUP_SCRIPT}\` ` +
      '(once; installs tensorflow-cpu from PyPI into a cached venv), or set FINEFLOW_EXPORT_PYTHON to such a python',
  };
}

export async function runKerasExport(request: KerasExportRequest): Promise<KerasCheck> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const timeout = AbortSignal.timeout(KERAS_EXPORT_TIMEOUT_MS);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  const outcome = await runProcess({
    executable: request.python,
    args: [
      KERAS_EXPORT_SCRIPT,
      ...['--tfjs', request.tfjsDir, '--format', request.format, '--output', request.output],
      ...['--probe', request.probeFile, '--tolerance', String(request.tolerance)],
    ],
    cwd: request.scratch,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: request.scratch,
      KERAS_HOME: request.scratch,
      KERAS_BACKEND: 'tensorflow',
      TF_CPP_MIN_LOG_LEVEL: '2',
      CUDA_VISIBLE_DEVICES: '',
      PYTHONNOUSERSITE: '1',
      PYTHONDONTWRITEBYTECODE: '1',
    },
    signal,
    killGraceMs: 5000,
    onStdoutLine: (line) => stdout.push(line),
    onStderrLine: (line) => {
      stderr.push(line);
      if (stderr.length > STDERR_TAIL_LINES) stderr.shift();
    },
  });
  if (outcome.stoppedByRunner) {
    if (timeout.aborted)
      throw new ResourceLimitError(
        `the Keras converter did not finish within ${KERAS_EXPORT_TIMEOUT_MS / 60000} minutes`,
        { format: request.format },
      );
    throw new CancelledError('export cancelled', { format: request.format });
  }
  if (outcome.code !== 0) {
    const reason = stderr.filter((line) => line.startsWith('keras-export: ')).pop();
    throw new InvalidInputError(
      reason
        ? `cannot export as ${request.format}: ${reason.slice('keras-export: '.length)}`
        : `the Keras converter (${request.python}) exited with ` +
            `${outcome.code ?? outcome.signal}:\n${stderr.join('\n')}`,
      { format: request.format },
    );
  }
  return parseKerasCheck(stdout.filter((line) => line.startsWith('{')).pop());
}

/** The converter's result line, checked field by field. */
export function parseKerasCheck(line: string | undefined): KerasCheck {
  let value: Partial<Record<keyof KerasCheck, unknown>> = {};
  try {
    value = JSON.parse(line ?? '') as typeof value;
  } catch {
    // reported below
  }
  const { tensorflow, keras, probeExamples, maxAbsDifference } = value;
  if (
    typeof tensorflow !== 'string' ||
    typeof keras !== 'string' ||
    typeof probeExamples !== 'number' ||
    typeof maxAbsDifference !== 'number'
  )
    throw new InvalidInputError(`the Keras converter printed no result line (got ${JSON.stringify(line ?? '')})`);
  return { tensorflow, keras, probeExamples, maxAbsDifference };
}
