/**
 * `fineflow codec-server`: Temporal's codec-server HTTP protocol over the payload codec, so the
 * Temporal UI (and `temporal workflow show --codec-endpoint … --codec-auth 'Bearer …'`) can show
 * decrypted payloads without holding the keys.
 *
 * Protocol: POST `…/encode` or `…/decode` (only the last path segment counts, so the endpoints can
 * be mounted under any prefix) with `{"payloads": [{"metadata": {k: base64}, "data": base64}]}`,
 * answered in the same shape. Rules:
 * - every POST needs `Authorization: Bearer <token>` (compared in constant time); the token is
 *   the operator's (FINEFLOW_CODEC_SERVER_TOKEN). A Temporal UI with "pass access token" sends
 *   its user's token instead, so put this behind the same identity proxy or give it that token.
 * - CORS answers only the configured Temporal UI origins; a browser request from any other origin
 *   is refused (403) before the body is read, so another page cannot use a logged-in browser.
 * - bodies are capped (413) and must be JSON of that shape (400); the reply never echoes input.
 * - it listens on loopback unless told otherwise (the CLI's `--host`).
 * Built on node:http: two routes do not justify a web framework dependency.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Payload, PayloadCodec } from '@temporalio/common';

export interface CodecServerOptions {
  readonly codec: PayloadCodec;
  /** Bearer token every POST must carry. */
  readonly token: string;
  /** Exact origins (scheme://host[:port]) allowed by CORS: the Temporal UI's. */
  readonly allowedOrigins: readonly string[];
  /** Largest request body accepted (default 8 MiB: a page of history with 2 MB payloads). */
  readonly maxBodyBytes?: number;
}

interface JsonPayload {
  readonly metadata?: Readonly<Record<string, string>>;
  readonly data?: string;
}

const DEFAULT_MAX_BODY = 8 * 1024 * 1024;
const MAX_PAYLOADS = 10_000;
const ALLOWED_HEADERS = 'authorization, content-type, x-namespace';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Hashing first gives both sides the same length, so the comparison leaks neither length nor content. */
function tokenMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer (.+)$/.exec(header ?? '')?.[1] ?? '';
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(presented), digest(token)) && presented.length > 0;
}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new HttpError(413, `request body over ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Stop reading; the 413 goes out with `connection: close`, which ends the socket.
        request.pause();
        reject(new HttpError(413, `request body over ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function base64Field(value: unknown, where: string): Uint8Array {
  if (typeof value !== 'string' || !BASE64.test(value)) throw new HttpError(400, `${where} must be a base64 string`);
  return Buffer.from(value, 'base64');
}

/** Proto3 JSON `Payloads` → SDK payloads. */
export function payloadsFromJson(body: unknown): Payload[] {
  const list = (body as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(list)) throw new HttpError(400, 'expected a JSON body {"payloads": [...]}');
  if (list.length > MAX_PAYLOADS) throw new HttpError(400, `at most ${MAX_PAYLOADS} payloads per request`);
  return list.map((item: unknown, index) => {
    if (typeof item !== 'object' || item === null) throw new HttpError(400, `payloads[${index}] must be an object`);
    const { metadata = {}, data = '' } = item as { metadata?: unknown; data?: unknown };
    if (typeof metadata !== 'object' || metadata === null)
      throw new HttpError(400, `payloads[${index}].metadata must be an object`);
    const entries = Object.entries(metadata).map(([key, value]): [string, Uint8Array] => [
      key,
      base64Field(value, `payloads[${index}].metadata.${key}`),
    ]);
    return { metadata: Object.fromEntries(entries), data: base64Field(data, `payloads[${index}].data`) };
  });
}

export function payloadsToJson(payloads: readonly Payload[]): { payloads: JsonPayload[] } {
  return {
    payloads: payloads.map((payload) => ({
      metadata: Object.fromEntries(
        Object.entries(payload.metadata ?? {}).map(([key, value]) => [
          key,
          Buffer.from(value ?? []).toString('base64'),
        ]),
      ),
      data: Buffer.from(payload.data ?? []).toString('base64'),
    })),
  };
}

function corsHeaders(origin: string | undefined, allowed: readonly string[]): Record<string, string> {
  if (!origin || !allowed.includes(origin)) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'POST, OPTIONS',
    'access-control-allow-headers': ALLOWED_HEADERS,
    'access-control-max-age': '600',
    vary: 'Origin',
  };
}

function send(response: ServerResponse, status: number, headers: Record<string, string>, body?: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  response.writeHead(status, { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) });
  response.end(text);
}

async function handle(request: IncomingMessage, response: ServerResponse, options: CodecServerOptions): Promise<void> {
  const origin = request.headers.origin;
  const cors = corsHeaders(origin, options.allowedOrigins);
  // A browser always sends Origin on cross-origin requests: refuse foreign ones outright.
  if (origin !== undefined && !options.allowedOrigins.includes(origin)) throw new HttpError(403, 'origin not allowed');
  const operation = /\/(encode|decode)\/?$/.exec(new URL(request.url ?? '/', 'http://codec.invalid').pathname)?.[1];
  if (!operation) throw new HttpError(404, 'the codec server answers POST …/encode and …/decode');
  if (request.method === 'OPTIONS') return send(response, 204, cors);
  if (request.method !== 'POST') throw new HttpError(405, 'use POST');
  if (!tokenMatches(request.headers.authorization, options.token)) {
    return send(
      response,
      401,
      { ...cors, 'www-authenticate': 'Bearer' },
      { error: 'a valid bearer token is required' },
    );
  }
  const raw = await readBody(request, options.maxBodyBytes ?? DEFAULT_MAX_BODY);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
  const payloads = payloadsFromJson(body);
  const result = operation === 'encode' ? await options.codec.encode(payloads) : await options.codec.decode(payloads);
  send(response, 200, cors, payloadsToJson(result));
}

/** An HTTP server (not yet listening) serving the codec-server protocol. */
export function createCodecServer(options: CodecServerOptions): Server {
  return createServer((request, response) => {
    handle(request, response, options).catch((thrown: unknown) => {
      const status = thrown instanceof HttpError ? thrown.status : 422;
      // Codec errors name key ids only (src/security/payload-codec.ts), never payload bytes.
      const message = thrown instanceof Error ? thrown.message : 'request failed';
      const close: Record<string, string> = status === 413 ? { connection: 'close' } : {};
      if (!response.headersSent)
        send(
          response,
          status,
          { ...corsHeaders(request.headers.origin, options.allowedOrigins), ...close },
          { error: message },
        );
      else response.destroy();
    });
  });
}
