/**
 * Fingerprints of stage inputs that live outside the object store: `file://` paths and
 * `http(s)://` resources. They go into the cache key (src/cache/cache-key.ts), so a file or
 * a web resource replaced behind the same URI is never served from a stale entry.
 *
 * - file: a small file's sha256; a larger one's size and mtime (hashing a big local dataset on
 *   every lookup would cost more than the stage); a directory's recursive listing of the same.
 * - http(s): one HEAD request to the URI the pipeline names (the user's own data source; no
 *   body is downloaded): its ETag, else Last-Modified, with Content-Length when given.
 * - anything that gives no stable fingerprint (no validator headers, HEAD refused, network
 *   error, unreadable path) yields `unfingerprintable: <why>`: the stage is then never served
 *   from the cache ({@link unfingerprintableReason}).
 * - both go through the outbound policy (src/security/outbound.ts) first: a URI the operator did
 *   not allow is never touched (no HEAD, no stat) and is unfingerprintable with the refusal as
 *   the reason, which reveals nothing about whether it exists.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ensureError, NotFoundError } from '../core/errors';
import { outboundPolicy, type OutboundPolicy } from '../security/outbound';
import { redactUri } from '../core/security/redact';

/** Prefix of a fingerprint that cannot vouch for the content; such a key is never a hit. */
export const UNFINGERPRINTABLE = 'unfingerprintable:';

export interface UriFingerprintOptions {
  /** Files up to this size are hashed; larger ones are fingerprinted by size and mtime. Default 4 MiB. */
  readonly hashFilesUpToBytes?: number;
  /** A directory with more entries than this is not fingerprinted (and not cached). Default 10,000. */
  readonly maxDirectoryEntries?: number;
  /** Timeout of the HEAD request. Default 10 s. */
  readonly headTimeoutMs?: number;
  /** What may be reached; default the process's installed policy. */
  readonly outbound?: OutboundPolicy;
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

export async function fingerprintFileUri(uri: string, options: UriFingerprintOptions = {}): Promise<string> {
  const limits = { ...DEFAULTS, ...options };
  let path: string;
  try {
    path = await (options.outbound ?? outboundPolicy()).resolveFile(uri);
  } catch (error) {
    if (error instanceof NotFoundError) return 'missing';
    return unfingerprintable(ensureError(error).message);
  }
  try {
    const info = await stat(path);
    if (info.isFile())
      return info.size <= limits.hashFilesUpToBytes
        ? `sha256:${await hashFile(path)}`
        : `stat:${info.size}:${info.mtimeMs}`;
    if (!info.isDirectory()) return unfingerprintable(`${redactUri(uri)} is neither a file nor a directory`);
    const lines: string[] = [];
    const pending = [path];
    while (pending.length > 0) {
      const dir = pending.pop() as string;
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) pending.push(full);
        else {
          // lstat: a symlink inside a root is listed as a link, never followed out of the root.
          const entryInfo = await lstat(full);
          lines.push(`${relative(path, full)}\t${entryInfo.size}\t${entryInfo.mtimeMs}`);
        }
        if (lines.length > limits.maxDirectoryEntries)
          return unfingerprintable(`${redactUri(uri)} holds more than ${limits.maxDirectoryEntries} files`);
      }
    }
    lines.sort();
    return `listing:${createHash('sha256').update(lines.join('\n')).digest('hex')}`;
  } catch (error) {
    return unfingerprintable(`cannot read ${redactUri(uri)} (${(error as { code?: string }).code ?? 'error'})`);
  }
}

export async function fingerprintHttpUri(uri: string, options: UriFingerprintOptions = {}): Promise<string> {
  const { headTimeoutMs } = { ...DEFAULTS, ...options };
  const shown = redactUri(uri);
  let response;
  try {
    // Redirects are followed by the policy, each hop checked; no body is read.
    response = await (options.outbound ?? outboundPolicy()).request(uri, { method: 'HEAD', timeoutMs: headTimeoutMs });
  } catch (error) {
    // The policy's messages name the method and the redacted URL already.
    return unfingerprintable(ensureError(error).message);
  }
  if (response.status === 404 || response.status === 410) return 'missing';
  if (response.status < 200 || response.status >= 300)
    return unfingerprintable(`HEAD ${shown} answered ${response.status}`);
  const etag = response.headers.etag;
  const modified = response.headers['last-modified'];
  const length = response.headers['content-length'];
  const sized = length !== undefined ? `:${length}` : '';
  if (etag) return `etag:${etag}${sized}`;
  if (modified) return `modified:${modified}${sized}`;
  return unfingerprintable(`HEAD ${shown} gave neither ETag nor Last-Modified`);
}

/** Fingerprint of a `file://` or `http(s)://` URI. */
export async function fingerprintLocalOrWebUri(uri: string, options: UriFingerprintOptions = {}): Promise<string> {
  return /^file:/i.test(uri) ? fingerprintFileUri(uri, options) : fingerprintHttpUri(uri, options);
}
