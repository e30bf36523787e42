/**
 * The outbound policy: every `http(s)://` and `file://` access a pipeline can cause (model
 * loading, data sources, the stage cache's fingerprints) goes through this module, and nothing is
 * reachable unless the operator enabled it (src/config.ts: FINEFLOW_OUTBOUND_ALLOW,
 * FINEFLOW_OUTBOUND_ALLOW_ADDRESSES, FINEFLOW_FILE_ROOTS, FINEFLOW_OUTBOUND_MAX_BYTES).
 *
 * Rules (docs/security.md, item 1):
 * - http(s): the URL must start with an allowed prefix (compared after URL normalisation, so
 *   `..` and percent tricks cannot step out, and on a path boundary); the host name is resolved
 *   here and every address must be public unless FINEFLOW_OUTBOUND_ALLOW_ADDRESSES covers it
 *   (cloud-metadata addresses only when named exactly); the connection goes to the address that
 *   was checked (a pinned `lookup`), so a second DNS answer cannot swap it; redirects are
 *   followed by hand and every hop is checked the same way; bodies are streamed with a byte cap.
 * - file: the path must lie inside a file root, lexically and after resolving symlinks. A path
 *   outside gets the same refusal whether or not it exists (nothing is read to decide), and no
 *   error ever quotes a file's content.
 *
 * The policy is built once from config at each edge that runs stage code (worker, training
 * child) and installed with {@link installOutboundPolicy}; until then every access is refused,
 * so a code path that forgot to configure it fails closed.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { open, realpath } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { dirname, isAbsolute, relative, resolve as resolvePath, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OutboundConfig } from '../config';
import {
  AccessDeniedError,
  CancelledError,
  DependencyUnavailableError,
  InvalidInputError,
  NotFoundError,
  ResourceLimitError,
} from '../core/errors';
import { redactUri } from '../core/security/redact';

/** `details.code` of every refusal, so callers and tests can tell it from other invalid input. */
export const OUTBOUND_REFUSED = 'outbound-refused';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Name → addresses; injectable so tests can make a name resolve to loopback. */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export interface OutboundRequest {
  /** POST (a webhook, e.g. the `notify` stage) sends `body` and never follows a redirect. */
  readonly method?: 'GET' | 'HEAD' | 'POST';
  /** Request body of a POST. */
  readonly body?: Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
  /** Cap on the body; default the policy's maxDownloadBytes. */
  readonly maxBytes?: number;
  /** Whole-request timeout (every hop); default 30 s. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface OutboundResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** Empty for HEAD. */
  readonly body: Uint8Array;
  /** The URL that answered (after redirects). */
  readonly url: string;
}

export interface OutboundPolicy {
  readonly config: OutboundConfig;
  /** Refuses (throws) unless `url` is http(s) under an allowed prefix; returns it parsed. */
  checkUrl(url: string): URL;
  /** One HTTP exchange under the policy: checked hops, pinned addresses, capped body. */
  request(url: string, options?: OutboundRequest): Promise<OutboundResponse>;
  /** GET a body; a non-2xx answer throws (5xx/429 retryable, others invalid input). */
  fetchBytes(url: string, options?: OutboundRequest): Promise<Uint8Array>;
  /**
   * The real path of a `file://` URI inside the file roots; refuses otherwise (same message whether it exists or
   * not).
   */
  resolveFile(uri: string): Promise<string>;
  /** A file's bytes (after {@link resolveFile}), refused above `maxBytes`. */
  readFile(uri: string, options?: { readonly maxBytes?: number }): Promise<Buffer>;
}

const MAX_REDIRECTS = 5;
const DEFAULT_TIMEOUT_MS = 30_000;

function refused(message: string, uri: string): InvalidInputError {
  return new InvalidInputError(message, { code: OUTBOUND_REFUSED, uri: redactUri(uri) });
}

function tooLarge(message: string, uri: string): ResourceLimitError {
  return new ResourceLimitError(message, { code: OUTBOUND_REFUSED, uri: redactUri(uri) });
}

/** Addresses no pipeline may reach unless the operator allows them: loopback, private, link-local, reserved. */
function nonPublicRanges(): BlockList {
  const list = new BlockList();
  for (const [network, bits] of [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.0.2.0', 24],
    ['192.88.99.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['198.51.100.0', 24],
    ['203.0.113.0', 24],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4],
  ] as const)
    list.addSubnet(network, bits, 'ipv4');
  for (const [network, bits] of [
    ['::', 128],
    ['::1', 128],
    ['::ffff:0:0', 96],
    ['64:ff9b::', 96],
    ['100::', 64],
    ['2001:db8::', 32],
    ['fc00::', 7],
    ['fe80::', 10],
    ['ff00::', 8],
  ] as const)
    list.addSubnet(network, bits, 'ipv6');
  return list;
}

/** Cloud instance-metadata services: reachable only when FINEFLOW_OUTBOUND_ALLOW_ADDRESSES names them exactly. */
const METADATA_ADDRESSES = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200', 'fd00:ec2::254']);

/** `::ffff:7f00:1` and `::ffff:127.0.0.1` are IPv4 addresses in disguise: check them as such. */
function unmapped(address: string): ResolvedAddress {
  const lower = address.toLowerCase();
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted?.[1]) return { address: dotted[1], family: 4 };
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex?.[1] && hex[2]) {
    const high = parseInt(hex[1], 16);
    const low = parseInt(hex[2], 16);
    return { address: `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, family: 4 };
  }
  return { address: lower, family: isIP(lower) === 4 ? 4 : 6 };
}

function allowedRanges(entries: readonly string[]): { list: BlockList; exact: Set<string> } {
  const list = new BlockList();
  const exact = new Set<string>();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    const prefix = bits === undefined ? (family === 'ipv4' ? 32 : 128) : Number(bits);
    list.addSubnet(address, prefix, family);
    if (prefix === (family === 'ipv4' ? 32 : 128)) exact.add(unmapped(address).address);
  }
  return { list, exact };
}

const systemResolver: Resolver = async (hostname) => {
  const answers = await dnsLookup(hostname, { all: true, verbatim: true });
  return answers.map((answer) => ({ address: answer.address, family: answer.family === 4 ? 4 : 6 }));
};

function isUnder(prefix: string, href: string): boolean {
  if (!href.startsWith(prefix)) return false;
  // On a boundary: `https://h/models` must not admit `https://h/models-private/…`.
  if (href.length === prefix.length || prefix.endsWith('/')) return true;
  const next = href[prefix.length];
  return next === '/' || next === '?' || next === '#';
}

function isInsideRoot(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function headersOf(message: http.IncomingMessage): Record<string, string | undefined> {
  const result: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(message.headers))
    result[name] = Array.isArray(value) ? value.join(', ') : value;
  return result;
}

function withoutCredentials(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter(
      ([name]) => !['authorization', 'cookie', 'proxy-authorization'].includes(name.toLowerCase()),
    ),
  );
}

/** A `lookup` that answers with the address the policy checked, whatever DNS says now. */
function pinnedLookup(pinned: ResolvedAddress): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  }) as LookupFunction;
}

export function createOutboundPolicy(
  config: OutboundConfig,
  deps: { readonly resolve?: Resolver } = {},
): OutboundPolicy {
  return new ConfiguredOutboundPolicy(config, deps.resolve ?? systemResolver);
}

/** The policy for one config; created through createOutboundPolicy. */
class ConfiguredOutboundPolicy implements OutboundPolicy {
  private readonly blocked = nonPublicRanges();
  private readonly allowed: { list: BlockList; exact: Set<string> };
  private realRoots: Promise<string[]> | undefined;

  constructor(
    readonly config: OutboundConfig,
    private readonly resolveName: Resolver,
  ) {
    this.allowed = allowedRanges(config.allowAddresses);
  }

  checkUrl(url: string): URL {
    const { config } = this;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw refused(`${redactUri(url)} is not a URL`, url);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw refused(`${redactUri(url)}: only http:// and https:// URLs can be fetched`, url);
    if (config.allowUrlPrefixes.length === 0) {
      throw refused(
        `${redactUri(url)}: http(s) sources are disabled on this worker; ` +
          'the operator enables them with FINEFLOW_OUTBOUND_ALLOW (docs/security.md)',
        url,
      );
    }
    if (!config.allowUrlPrefixes.some((prefix) => isUnder(prefix, parsed.href))) {
      throw refused(
        `${redactUri(url)} is not under a URL prefix that FINEFLOW_OUTBOUND_ALLOW allows ` +
          `(${config.allowUrlPrefixes.join(', ')})`,
        url,
      );
    }
    return parsed;
  }

  async request(url: string, options: OutboundRequest = {}): Promise<OutboundResponse> {
    const maxBytes = options.maxBytes ?? this.config.maxDownloadBytes;
    const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let current = this.checkUrl(url);
    let headers = options.headers ?? {};
    for (let hop = 0; ; hop += 1) {
      const pinned = await this.checkedAddress(current);
      let response: OutboundResponse;
      try {
        response = await exchange(current, pinned, options, headers, signal, maxBytes);
      } catch (error) {
        throw exchangeFailure(error, current, options, timeout);
      }
      const location = response.headers.location;
      if (response.status < 300 || response.status >= 400 || location === undefined) return response;
      // A redirected POST would need its body resent to a place nobody allowed for it: the caller sees the 3xx.
      if (options.method === 'POST') return response;
      if (hop >= MAX_REDIRECTS) throw refused(`${redactUri(url)} redirected more than ${MAX_REDIRECTS} times`, url);
      // Every hop passes the same checks as the first URL: prefix, then addresses.
      const next = this.checkUrl(new URL(location, current).href);
      // Credentials (a secret `auth` input) never follow a redirect to another origin.
      if (next.origin !== current.origin) headers = withoutCredentials(headers);
      current = next;
    }
  }

  async fetchBytes(url: string, options: OutboundRequest = {}): Promise<Uint8Array> {
    const response = await this.request(url, { ...options, method: 'GET' });
    if (response.status >= 200 && response.status < 300) return response.body;
    const message = `GET ${redactUri(response.url)} answered ${response.status} ${response.statusText}`.trim();
    const details = { url: redactUri(response.url), status: response.status };
    if (response.status >= 500 || response.status === 429) throw new DependencyUnavailableError(message, details);
    if (response.status === 404 || response.status === 410) throw new NotFoundError(message, details);
    if (response.status === 401 || response.status === 403) throw new AccessDeniedError(message, details);
    throw new InvalidInputError(message, details);
  }

  async resolveFile(uri: string): Promise<string> {
    const { config } = this;
    let path: string;
    try {
      path = resolvePath(fileURLToPath(uri));
    } catch {
      throw refused(`${redactUri(uri)} is not a local file URI (file:///absolute/path)`, uri);
    }
    if (config.fileRoots.length === 0) {
      throw refused(
        `${redactUri(uri)}: file:// sources are disabled on this worker; ` +
          'the operator enables directories with FINEFLOW_FILE_ROOTS (docs/security.md)',
        uri,
      );
    }
    const outside = refused(`${redactUri(uri)} is outside the directories that FINEFLOW_FILE_ROOTS allows`, uri);
    // Lexical check first: a path outside every root is refused without touching the file system.
    if (!config.fileRoots.some((root) => isInsideRoot(root, path))) throw outside;
    const realRootList = await this.roots();
    const { real, exists } = await realPathOrNearest(path);
    if (!realRootList.some((root) => isInsideRoot(root, real))) throw outside;
    if (!exists) throw new NotFoundError(`${redactUri(uri)} does not exist`, { uri: redactUri(uri) });
    return real;
  }

  async readFile(uri: string, options: { readonly maxBytes?: number } = {}): Promise<Buffer> {
    const maxBytes = options.maxBytes ?? this.config.maxDownloadBytes;
    const path = await this.resolveFile(uri);
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw new InvalidInputError(`cannot open ${redactUri(uri)} (${(error as { code?: string }).code ?? 'error'})`, {
        uri: redactUri(uri),
      });
    }
    try {
      const info = await handle.stat();
      if (!info.isFile())
        throw new InvalidInputError(`${redactUri(uri)} is not a regular file`, { uri: redactUri(uri) });
      if (info.size > maxBytes)
        throw tooLarge(
          `${redactUri(uri)} is ${info.size} bytes, over the ${maxBytes}-byte cap (FINEFLOW_OUTBOUND_MAX_BYTES)`,
          uri,
        );
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  private addressAllowed(candidate: ResolvedAddress): boolean {
    const { address, family } = unmapped(candidate.address);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (METADATA_ADDRESSES.has(address)) return this.allowed.exact.has(address);
    if (!this.blocked.check(address, type)) return true;
    return this.allowed.list.check(address, type);
  }

  /** Resolve and check every address of the URL's host; returns the one to connect to. */
  private async checkedAddress(url: URL): Promise<ResolvedAddress> {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    let addresses: readonly ResolvedAddress[];
    if (isIP(host)) addresses = [{ address: host, family: isIP(host) === 4 ? 4 : 6 }];
    else {
      try {
        addresses = await this.resolveName(host);
      } catch (error) {
        throw new DependencyUnavailableError(
          `cannot resolve ${host}: ${(error as Error).message}`,
          { host },
          { cause: error },
        );
      }
    }
    if (addresses.length === 0) throw new DependencyUnavailableError(`${host} has no address`, { host });
    // Every answer must pass: otherwise a name with one public and one internal address could go either way.
    const bad = addresses.find((candidate) => !this.addressAllowed(candidate));
    if (bad) {
      throw refused(
        `${redactUri(url.href)}: ${host} resolves to ${bad.address}, a loopback, private, link-local or metadata address; ` +
          'the operator allows such addresses with FINEFLOW_OUTBOUND_ALLOW_ADDRESSES',
        url.href,
      );
    }
    return addresses[0] as ResolvedAddress;
  }

  private roots(): Promise<string[]> {
    // Roots are resolved once (they may be symlinks themselves); a missing root admits nothing.
    this.realRoots ??= Promise.all(this.config.fileRoots.map((root) => realpath(root).catch(() => root)));
    return this.realRoots;
  }
}

/** One HTTP exchange with the checked, pinned address: the response with its body read under the cap. */
function exchange(
  url: URL,
  pinned: ResolvedAddress,
  options: OutboundRequest,
  headers: Readonly<Record<string, string>>,
  signal: AbortSignal,
  maxBytes: number,
): Promise<OutboundResponse> {
  const method = options.method ?? 'GET';
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      url,
      { method, headers: { ...headers }, lookup: pinnedLookup(pinned), signal, agent: false },
      (response) => receiveResponse(response, { url, method, maxBytes, resolve, reject }),
    );
    request.on('error', reject);
    request.end(method === 'POST' && options.body ? Buffer.from(options.body) : undefined);
  });
}

/** What one exchange settles with; its first settlement wins. */
interface ExchangeContext {
  readonly url: URL;
  readonly method: NonNullable<OutboundRequest['method']>;
  readonly maxBytes: number;
  readonly resolve: (response: OutboundResponse) => void;
  readonly reject: (error: unknown) => void;
}

/** Read a response: no body for HEAD and redirects, a refusal past the byte cap (declared or counted). */
function receiveResponse(response: http.IncomingMessage, exchanged: ExchangeContext): void {
  const { url, method, maxBytes, reject } = exchanged;
  const status = response.statusCode ?? 0;
  const done = (body: Uint8Array): void =>
    exchanged.resolve({
      status,
      statusText: response.statusMessage ?? '',
      headers: headersOf(response),
      body,
      url: url.href,
    });
  const declared = Number(response.headers['content-length']);
  if (method === 'HEAD' || (status >= 300 && status < 400)) {
    response.resume();
    done(new Uint8Array(0));
    return;
  }
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.destroy();
    reject(
      tooLarge(
        `${redactUri(url.href)} is ${declared} bytes, over the ${maxBytes}-byte cap (FINEFLOW_OUTBOUND_MAX_BYTES)`,
        url.href,
      ),
    );
    return;
  }
  const chunks: Buffer[] = [];
  let total = 0;
  response.on('data', (chunk: Buffer) => {
    total += chunk.length;
    if (total > maxBytes) {
      response.destroy();
      reject(
        tooLarge(
          `${redactUri(url.href)} sent more than the ${maxBytes}-byte cap (FINEFLOW_OUTBOUND_MAX_BYTES)`,
          url.href,
        ),
      );
      return;
    }
    chunks.push(chunk);
  });
  response.on('end', () => done(new Uint8Array(Buffer.concat(chunks))));
  response.on('error', reject);
}

/** A failed exchange as the error the caller sees: refusals as they are, else cancelled or unavailable. */
function exchangeFailure(error: unknown, current: URL, options: OutboundRequest, timeout: AbortSignal): Error {
  if (error instanceof InvalidInputError || error instanceof ResourceLimitError) return error;
  if (options.signal?.aborted)
    return new CancelledError(`${options.method ?? 'GET'} ${redactUri(current.href)} was cancelled`, {});
  const reason = timeout.aborted ? 'timed out' : (error as Error).message;
  return new DependencyUnavailableError(
    `${options.method ?? 'GET'} ${redactUri(current.href)} failed: ${reason}`,
    { url: redactUri(current.href) },
    { cause: error },
  );
}

async function realPathOrNearest(path: string): Promise<{ real: string; exists: boolean }> {
  try {
    return { real: await realpath(path), exists: true };
  } catch {
    // Missing: judge by the nearest existing ancestor, so a dangling path inside a symlinked
    // directory is refused exactly like an existing one.
    let parent = dirname(path);
    for (;;) {
      try {
        return { real: await realpath(parent), exists: false };
      } catch {
        const next = dirname(parent);
        if (next === parent) return { real: parent, exists: false };
        parent = next;
      }
    }
  }
}

const DENY_ALL: OutboundConfig = Object.freeze({
  allowUrlPrefixes: [],
  allowAddresses: [],
  fileRoots: [],
  maxDownloadBytes: 1,
});

let installed: OutboundPolicy = createOutboundPolicy(DENY_ALL);

/** Make `policy` the one every fetch of this process uses (worker and training-child start, tests). */
export function installOutboundPolicy(policy: OutboundPolicy): OutboundPolicy {
  installed = policy;
  return policy;
}

/** The process's policy: the installed one, or one that refuses everything. */
export function outboundPolicy(): OutboundPolicy {
  return installed;
}
