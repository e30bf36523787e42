/**
 * The body of `POST /predict` (`fineflow serve`), turned into the same prediction records
 * `fineflow predict` reads from files: `{"instances": [...]}` where each instance is an object of
 * column → value (table models) or `{"b64": "<base64 PNG/JPEG>"}` (image models, as TF Serving's
 * REST API writes binary inputs). Pure: every bound is checked here and unit-tested without a socket.
 */
import { InvalidInputError, ResourceLimitError } from '../../core/errors';
import { MAX_IMAGE_FILE_BYTES } from '../data/images';
import type { PredictionRecord } from './prediction-inputs';

export interface ServeLimits {
  /** Most instances in one request. */
  readonly maxBatch: number;
  /** Most columns in one table instance. */
  readonly maxColumns: number;
}

export const DEFAULT_SERVE_LIMITS: ServeLimits = Object.freeze({ maxBatch: 256, maxColumns: 10_000 });

function plainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function imageInstance(value: Record<string, unknown>, where: string): PredictionRecord {
  const b64 = value.b64;
  if (typeof b64 !== 'string' || !BASE64.test(b64))
    throw new InvalidInputError(`${where}.b64: must be a base64 string of a PNG or JPEG file`, { where });
  // 4 base64 characters carry 3 bytes: refuse before decoding anything too large.
  if ((b64.length / 4) * 3 > MAX_IMAGE_FILE_BYTES + 3)
    throw new ResourceLimitError(`${where}.b64: the image is larger than ${MAX_IMAGE_FILE_BYTES} bytes`, { where });
  return { kind: 'image', where, bytes: new Uint8Array(Buffer.from(b64, 'base64')) };
}

function rowInstance(value: Record<string, unknown>, where: string, limits: ServeLimits): PredictionRecord {
  const keys = Object.keys(value);
  if (keys.length > limits.maxColumns)
    throw new ResourceLimitError(`${where}: has ${keys.length} columns, at most ${limits.maxColumns} are accepted`, {
      where,
    });
  for (const key of keys) {
    const cell = value[key];
    if (cell !== null && typeof cell === 'object')
      throw new InvalidInputError(`${where}.${key}: must be a number, string, boolean or null, not a nested value`, {
        where,
      });
  }
  const cells: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of keys) cells[key] = value[key];
  return { kind: 'row', where, cells };
}

/** The records of a parsed request body; errors name `instances[i]` and say what is accepted. */
export function predictRequestRecords(
  body: unknown,
  takes: 'table' | 'image',
  limits: ServeLimits = DEFAULT_SERVE_LIMITS,
): PredictionRecord[] {
  const example =
    takes === 'table'
      ? '{"instances": [{"column": value, …}, …]}'
      : '{"instances": [{"b64": "<base64 PNG or JPEG>"}, …]}';
  if (!plainObject(body) || !Array.isArray(body.instances))
    throw new InvalidInputError(`the body must be a JSON object with an "instances" list: ${example}`, {});
  const extra = Object.keys(body).filter((key) => key !== 'instances');
  if (extra.length > 0)
    throw new InvalidInputError(`unknown field ${extra[0]} in the body; send only "instances": ${example}`, {});
  const instances: unknown[] = body.instances;
  if (instances.length === 0) throw new InvalidInputError(`"instances" is empty; send 1 to ${limits.maxBatch}`, {});
  if (instances.length > limits.maxBatch)
    throw new ResourceLimitError(
      `"instances" has ${instances.length} entries, at most ${limits.maxBatch} per request; split the batch`,
      { maxBatch: limits.maxBatch },
    );
  return instances.map((instance, i) => {
    const where = `instances[${i}]`;
    if (!plainObject(instance)) throw new InvalidInputError(`${where}: must be an object; ${example}`, { where });
    return takes === 'image' ? imageInstance(instance, where) : rowInstance(instance, where, limits);
  });
}
