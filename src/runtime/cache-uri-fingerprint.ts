/**
 * Fingerprints of stage inputs that live outside the object store: `file://` paths and
 * `http(s)://` resources. They go into the cache key (src/runtime/cache-key.ts), so a file or
 * a web resource replaced behind the same URI is never served from a stale entry.
 *
 * - file: a small file's sha256; a larger one's size and mtime (hashing a big local dataset on
 *   every lookup would cost more than the stage); a directory's recursive listing of the same.
 * - http(s): one HEAD request to the URI the pipeline names (the user's own data source; no
 *   body is downloaded): its ETag, else Last-Modified, with Content-Length when given.
 * - anything that gives no stable fingerprint (no validator headers, HEAD refused, network
 *   error, unreadable path) yields `unfingerprintable: <why>`: the stage is then never served
 *   from the cache ({@link unfingerprintableReason}).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureError } from '../errors';

/** Prefix of a fingerprint that cannot vouch for the content; such a key is never a hit. */
export const UNFINGERPRINTABLE = 'unfingerprintable:';

export interface UriFingerprintOptions {
  /** Files up to this size are hashed; larger ones are fingerprinted by size and mtime. Default 4 MiB. */
  readonly hashFilesUpToBytes?: number;
  /** A directory with more entries than this is not fingerprinted (and not cached). Default 10,000. */
  readonly maxDirectoryEntries?: number;
  /** Timeout of the HEAD request. Default 10 s. */
  readonly headTimeoutMs?: number;
}

const DEFAULTS = { hashFilesUpToBytes: 4 * 1024 * 1024, maxDirectoryEntries: 10_000, headTimeoutMs: 10_000 } as const;

export function isLocalOrWebUri(uri: string): boolean {
  return /^(file|https?):\/\//i.test(uri);
}

function unfingerprintable(why: string): string {
  return `${UNFINGERPRINTABLE} ${why}`;
}

/** The reason a fingerprint cannot vouch for its content, or undefined when it can. */
export function unfingerprintableReason(fingerprint: string): string | undefined {
  return fingerprint.startsWith(UNFINGERPRINTABLE) ? fingerprint.slice(UNFINGERPRINTABLE.length).trim() : undefined;
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export async function fingerprintFileUri(uri: string, options: UriFingerprintOptions = {}): Promise<string> {
  const limits = { ...DEFAULTS, ...options };
  let path: string;
  try {
    path = fileURLToPath(uri);
  } catch (error) {
    return unfingerprintable(`${uri} is not a local file URI (${ensureError(error).message})`);
  }
  try {
    const info = await stat(path);
    if (info.isFile()) return info.size <= limits.hashFilesUpToBytes ? `sha256:${await hashFile(path)}` : `stat:${info.size}:${info.mtimeMs}`;
    if (!info.isDirectory()) return unfingerprintable(`${uri} is neither a file nor a directory`);
    const lines: string[] = [];
    const pending = [path];
    while (pending.length > 0) {
      const dir = pending.pop() as string;
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) pending.push(full);
        else {
          const entryInfo = await stat(full);
          lines.push(`${relative(path, full)}\t${entryInfo.size}\t${entryInfo.mtimeMs}`);
        }
        if (lines.length > limits.maxDirectoryEntries) return unfingerprintable(`${uri} holds more than ${limits.maxDirectoryEntries} files`);
      }
    }
    lines.sort();
    return `listing:${createHash('sha256').update(lines.join('\n')).digest('hex')}`;
  } catch (error) {
    if (isNotFound(error)) return 'missing';
    return unfingerprintable(`cannot read ${uri}: ${ensureError(error).message}`);
  }
}

export async function fingerprintHttpUri(uri: string, options: UriFingerprintOptions = {}): Promise<string> {
  const { headTimeoutMs } = { ...DEFAULTS, ...options };
  let response: Response;
  try {
    response = await fetch(uri, { method: 'HEAD', redirect: 'follow', signal: AbortSignal.timeout(headTimeoutMs) });
  } catch (error) {
    const cause = ensureError(error);
    return unfingerprintable(`HEAD ${uri} failed: ${cause.cause instanceof Error ? cause.cause.message : cause.message}`);
  }
  if (response.status === 404 || response.status === 410) return 'missing';
  if (!response.ok) return unfingerprintable(`HEAD ${uri} answered ${response.status}`);
  const etag = response.headers.get('etag');
  const modified = response.headers.get('last-modified');
  const length = response.headers.get('content-length');
  const sized = length !== null ? `:${length}` : '';
  if (etag) return `etag:${etag}${sized}`;
  if (modified) return `modified:${modified}${sized}`;
  return unfingerprintable(`HEAD ${uri} gave neither ETag nor Last-Modified`);
}

/** Fingerprint of a `file://` or `http(s)://` URI. */
export async function fingerprintLocalOrWebUri(uri: string, options: UriFingerprintOptions = {}): Promise<string> {
  return /^file:/i.test(uri) ? fingerprintFileUri(uri, options) : fingerprintHttpUri(uri, options);
}
