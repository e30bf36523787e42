/**
 * What a worker lets `command` stages run (docs/security.md, "command stages"). Pipeline authors
 * are untrusted, so the executable is the operator's decision: FINEFLOW_COMMAND_ALLOW maps the
 * names a pipeline may write as `run[0]` to absolute paths on this worker. Nothing is allowed by
 * default, and nothing is looked up on PATH: `python` runs exactly the interpreter the operator named.
 */
import { isAbsolute, basename, resolve as resolvePath } from 'node:path';
import { tmpdir } from 'node:os';
import { InvalidInputError } from '../core/errors';

export interface CommandConfig {
  /** Name a pipeline writes as `run[0]` → absolute path of the executable (FINEFLOW_COMMAND_ALLOW). */
  readonly allow: Readonly<Record<string, string>>;
  /** Where fresh work directories are made (FINEFLOW_COMMAND_WORK_DIR). */
  readonly workRoot: string;
  /** Cap on the bytes one stage downloads as inputs, and separately on what it uploads (FINEFLOW_COMMAND_MAX_BYTES). */
  readonly maxBytes: number;
}

export const DEFAULT_COMMAND_MAX_BYTES = 2 * 1024 * 1024 * 1024;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

type Env = Readonly<Record<string, string | undefined>>;

function value(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

/**
 * Parse FINEFLOW_COMMAND_ALLOW: comma-separated `name=/abs/path` or `/abs/path` (named by its
 * basename), e.g. `python=/opt/venv/bin/python,/usr/bin/Rscript`.
 */
export function parseCommandAllow(raw: string | undefined): Record<string, string> {
  const allow: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const entry of (raw ?? '').split(',').map((item) => item.trim())) {
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const path = eq === -1 ? entry : entry.slice(eq + 1).trim();
    const name = eq === -1 ? basename(entry) : entry.slice(0, eq).trim();
    if (!isAbsolute(path))
      throw new InvalidInputError(
        `FINEFLOW_COMMAND_ALLOW: ${entry}: the executable must be an absolute path, e.g. python=/opt/venv/bin/python`,
        { variable: 'FINEFLOW_COMMAND_ALLOW' },
      );
    if (!NAME.test(name))
      throw new InvalidInputError(
        `FINEFLOW_COMMAND_ALLOW: ${entry}: the name ${JSON.stringify(name)} must be letters, digits, . _ + - (at most 64)`,
        { variable: 'FINEFLOW_COMMAND_ALLOW' },
      );
    if (Object.prototype.hasOwnProperty.call(allow, name) && allow[name] !== resolvePath(path))
      throw new InvalidInputError(`FINEFLOW_COMMAND_ALLOW: ${name} is given twice, with different paths`, {
        variable: 'FINEFLOW_COMMAND_ALLOW',
      });
    allow[name] = resolvePath(path);
  }
  return allow;
}

export function loadCommandConfig(env: Env = process.env): CommandConfig {
  const workRoot = value(env, 'FINEFLOW_COMMAND_WORK_DIR') ?? resolvePath(tmpdir(), 'fineflow-command');
  if (!isAbsolute(workRoot))
    throw new InvalidInputError(`FINEFLOW_COMMAND_WORK_DIR=${workRoot} must be an absolute directory`, {
      variable: 'FINEFLOW_COMMAND_WORK_DIR',
    });
  const rawMax = value(env, 'FINEFLOW_COMMAND_MAX_BYTES');
  const maxBytes = rawMax === undefined ? DEFAULT_COMMAND_MAX_BYTES : Number(rawMax);
  if (!/^\d+$/.test(rawMax ?? '0') || !Number.isSafeInteger(maxBytes) || maxBytes < 1)
    throw new InvalidInputError(`FINEFLOW_COMMAND_MAX_BYTES=${rawMax} must be a positive number of bytes`, {
      variable: 'FINEFLOW_COMMAND_MAX_BYTES',
    });
  return Object.freeze({
    allow: Object.freeze(parseCommandAllow(value(env, 'FINEFLOW_COMMAND_ALLOW'))),
    workRoot: resolvePath(workRoot),
    maxBytes,
  });
}
