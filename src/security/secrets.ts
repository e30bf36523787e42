/**
 * The worker side of `secrets:` (docs/security.md, item 2). A stage's resolved inputs carry
 * sealed references (`{$secret, reference}`, see src/core/spec/expressions.ts) where the pipeline
 * wrote `${{ secrets.NAME }}`; the stage runner calls {@link SecretResolver.open} just before the
 * stage implementation runs, so the value exists only in this process's memory: never in the
 * plan, the workflow history, the cache key or anything the runner records (it also scrubs the
 * values out of log lines, outputs and error messages, in case a stage echoes one).
 *
 * Pipeline authors are not trusted, so they cannot name any variable or file they like (that
 * would send the worker's own S3 key, or /etc/shadow, to a host they control): the operator
 * lists the environment variables (FINEFLOW_SECRET_ENV, `PREFIX_*` allowed) and the directories
 * (FINEFLOW_SECRET_FILE_ROOTS) that secrets may come from. Nothing is allowed by default.
 */
import { pathToFileURL } from 'node:url';
import type { SecretsConfig } from '../config';
import { InvalidInputError } from '../core/errors';
import { isSealedSecret, type SealedSecret } from '../core/spec/expressions';
import type { JsonObject, JsonValue } from '../core/spec/plan-types';
import { createOutboundPolicy } from './outbound';

/** A secret file is a token or a password, not a dataset. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

export interface OpenedInputs {
  /** The inputs with every sealed reference replaced by its value: for the stage implementation only. */
  readonly inputs: JsonObject;
  /** The values, to scrub from anything recorded. */
  readonly values: readonly string[];
}

export interface SecretResolver {
  open(inputs: JsonObject): Promise<OpenedInputs>;
}

function envAllowed(config: SecretsConfig, name: string): boolean {
  return config.allowEnv.some((pattern) =>
    pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern,
  );
}

export function createSecretResolver(
  config: SecretsConfig,
  env: Readonly<Record<string, string | undefined>>,
): SecretResolver {
  const files = createOutboundPolicy({
    allowUrlPrefixes: [],
    allowAddresses: [],
    fileRoots: config.fileRoots,
    maxDownloadBytes: MAX_SECRET_FILE_BYTES,
  });

  async function valueOf(sealed: SealedSecret): Promise<string> {
    const reference = sealed.reference as { env?: unknown; file?: unknown };
    if (typeof reference.env === 'string') {
      if (!envAllowed(config, reference.env)) {
        throw new InvalidInputError(
          `secret \`${sealed.$secret}\` names environment variable ${reference.env}, which this worker does not ` +
            `expose to pipelines; the operator lists allowed ones in FINEFLOW_SECRET_ENV`,
          { secret: sealed.$secret },
        );
      }
      const value = env[reference.env];
      if (value === undefined || value === '')
        throw new InvalidInputError(
          `secret \`${sealed.$secret}\`: environment variable ${reference.env} is not set on this worker`,
          { secret: sealed.$secret },
        );
      return value;
    }
    if (typeof reference.file === 'string') {
      if (config.fileRoots.length === 0) {
        throw new InvalidInputError(
          `secret \`${sealed.$secret}\` names a file, but this worker reads no secret files; the operator allows ` +
            `directories with FINEFLOW_SECRET_FILE_ROOTS`,
          { secret: sealed.$secret },
        );
      }
      // Same confinement as file:// sources: outside the roots is refused without saying whether it exists.
      const bytes = await files.readFile(pathToFileURL(reference.file).href);
      return bytes.toString('utf8').replace(/\r?\n$/, '');
    }
    throw new InvalidInputError(`secret \`${sealed.$secret}\` has no env or file reference`, {
      secret: sealed.$secret,
    });
  }

  return {
    async open(inputs) {
      const values: string[] = [];
      const visit = async (value: JsonValue): Promise<JsonValue> => {
        if (isSealedSecret(value)) {
          const secret = await valueOf(value);
          values.push(secret);
          return secret;
        }
        if (Array.isArray(value)) return Promise.all(value.map((item: JsonValue) => visit(item)));
        if (value !== null && typeof value === 'object') {
          const out: Record<string, JsonValue> = {};
          for (const [key, item] of Object.entries(value)) out[key] = await visit(item);
          return out;
        }
        return value;
      };
      return { inputs: (await visit(inputs)) as JsonObject, values };
    },
  };
}

/** `text` with every secret value replaced by `***` (values shorter than 4 characters are too common to scrub). */
export function scrubSecrets(text: string, values: readonly string[]): string {
  let result = text;
  for (const value of values) if (value.length >= 4) result = result.split(value).join('***');
  return result;
}

/** An error (and its causes) with secret values scrubbed from the messages, before it is recorded. */
export function scrubError<T>(thrown: T, values: readonly string[]): T {
  if (values.length === 0) return thrown;
  let current: unknown = thrown;
  for (let depth = 0; current instanceof Error && depth < 8; depth += 1) {
    current.message = scrubSecrets(current.message, values);
    if (current.stack) current.stack = scrubSecrets(current.stack, values);
    current = current.cause;
  }
  return thrown;
}
