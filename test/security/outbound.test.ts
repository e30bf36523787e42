/**
 * Item 1 of docs/security.md: outbound access is the operator's decision. Every attack here is
 * tried against real local HTTP servers and real files; each test also checks that the refused
 * target was never contacted (its server saw no request).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { loadOutboundConfig, type OutboundConfig } from '../../src/config';
import { loadTf } from '../../src/ml/backend';
import { buildModel } from '../../src/ml/models/architectures';
import { loadModel, saveModel } from '../../src/ml/models/load-model';
import { fingerprintFileUri, fingerprintHttpUri, unfingerprintableReason } from '../../src/cache/cache-uri-fingerprint';
import { createOutboundPolicy, OUTBOUND_REFUSED, type Resolver } from '../../src/security/outbound';
import { createMemoryObjectStore } from '../../src/storage/memory-store';

const { tf } = loadTf({ preference: 'auto' });

interface LocalServer {
  readonly base: string;
  readonly port: number;
  readonly requests: string[];
  close(): Promise<void>;
}

async function localServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<LocalServer> {
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function config(overrides: Partial<OutboundConfig>): OutboundConfig {
  return { allowUrlPrefixes: [], allowAddresses: [], fileRoots: [], maxDownloadBytes: 1 << 20, ...overrides };
}

/** An assertion for `assert.rejects`: the policy's refusal, optionally with a message. */
function refusedWith(message?: RegExp, expectedType = 'FineflowInvalidInput'): (error: unknown) => boolean {
  return (error) => {
    const { type, details } = error as { type?: string; details?: { code?: string } };
    assert.equal(type, expectedType, String(error));
    assert.equal(details?.code, OUTBOUND_REFUSED, String(error));
    if (message) assert.match((error as Error).message, message);
    return true;
  };
}
const refusal = refusedWith();

/** A tiny real model served as model.json + weights.bin, with the manifest's paths replaceable. */
async function modelFiles(weightsPaths: string[]): Promise<{ json: string; weights: Buffer }> {
  const store = createMemoryObjectStore({ buckets: ['models'] });
  await saveModel(
    tf,
    store,
    buildModel(tf, { kind: 'mlp', inputShape: [2], hidden: [2] }, { numClasses: 2 }),
    's3://models/tiny',
  );
  const json = JSON.parse(Buffer.from(await store.getBytes('s3://models/tiny/model.json')).toString('utf8')) as {
    weightsManifest: { paths: string[] }[];
  };
  if (json.weightsManifest[0]) json.weightsManifest[0].paths = weightsPaths;
  return { json: JSON.stringify(json), weights: Buffer.from(await store.getBytes('s3://models/tiny/weights.bin')) };
}

void describe('SSRF: http(s) sources', () => {
  let internal: LocalServer; // stands for a metadata service or an internal API: must never be reached
  let models: LocalServer; // the operator's allowed model host
  const modelRoutes = new Map<string, (response: ServerResponse) => void>();

  before(async () => {
    internal = await localServer((_request, response) => response.end('{"secret":"internal"}'));
    models = await localServer((request, response) => {
      const route = modelRoutes.get(request.url ?? '');
      if (route) route(response);
      else response.writeHead(404).end();
    });
  });
  after(async () => {
    await internal.close();
    await models.close();
  });

  void it('refuses every http(s) URL when nothing is allowed, and URLs outside the allowed prefixes', async () => {
    const none = createOutboundPolicy(config({}));
    await assert.rejects(none.fetchBytes(`${internal.base}/latest/meta-data/`), refusedWith(/FINEFLOW_OUTBOUND_ALLOW/));
    const some = createOutboundPolicy(
      config({ allowUrlPrefixes: [`${models.base}/models/`], allowAddresses: ['127.0.0.1/32'] }),
    );
    await assert.rejects(some.fetchBytes(`${internal.base}/x`), refusal);
    await assert.rejects(
      some.fetchBytes(`${models.base}/models/../admin`),
      refusal,
      'normalised before the prefix check',
    );
    await assert.rejects(some.fetchBytes(`${models.base}/models-private/x`), refusal, 'prefix ends on a path boundary');
    assert.deepEqual(internal.requests, []);
  });

  void it('refuses an allowed URL whose host is a loopback, private, link-local or metadata address', async () => {
    const policy = createOutboundPolicy(
      config({ allowUrlPrefixes: [`${internal.base}/`, 'http://169.254.169.254/', 'http://[::ffff:7f00:1]/'] }),
    );
    await assert.rejects(
      policy.fetchBytes(`${internal.base}/latest/meta-data/`),
      refusedWith(/127\.0\.0\.1.*FINEFLOW_OUTBOUND_ALLOW_ADDRESSES/),
    );
    await assert.rejects(policy.fetchBytes('http://169.254.169.254/latest/meta-data/'), refusal);
    await assert.rejects(policy.fetchBytes('http://[::ffff:7f00:1]/'), refusal, 'an IPv4-mapped IPv6 loopback');
    // A range that covers the metadata address does not admit it: only naming it exactly does.
    const wide = createOutboundPolicy(
      config({ allowUrlPrefixes: ['http://169.254.169.254/'], allowAddresses: ['169.254.0.0/16'] }),
    );
    await assert.rejects(wide.fetchBytes('http://169.254.169.254/latest/meta-data/'), refusal);
    assert.deepEqual(internal.requests, []);
  });

  void it('refuses a DNS name that resolves to loopback (system resolver: localhost; injected: any name)', async () => {
    const viaLocalhost = createOutboundPolicy(config({ allowUrlPrefixes: [`http://localhost:${internal.port}/`] }));
    await assert.rejects(viaLocalhost.fetchBytes(`http://localhost:${internal.port}/`), refusal);
    const rebinding: Resolver = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ];
    const mixed = createOutboundPolicy(config({ allowUrlPrefixes: [`http://models.example.test:${internal.port}/`] }), {
      resolve: rebinding,
    });
    await assert.rejects(
      mixed.fetchBytes(`http://models.example.test:${internal.port}/`),
      refusal,
      'one internal answer among public ones is enough to refuse',
    );
    assert.deepEqual(internal.requests, []);
  });

  void it('connects to the address it checked, not to a second DNS answer', async () => {
    // `pinned.invalid` cannot resolve through the system: the request only works because the
    // connection uses the address the policy resolved and checked.
    const resolve: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];
    modelRoutes.set('/pinned', (response) => response.end('pinned'));
    const policy = createOutboundPolicy(
      config({ allowUrlPrefixes: [`http://pinned.invalid:${models.port}/`], allowAddresses: ['127.0.0.1/32'] }),
      { resolve },
    );
    assert.equal(
      Buffer.from(await policy.fetchBytes(`http://pinned.invalid:${models.port}/pinned`)).toString(),
      'pinned',
    );
  });

  void it('checks every redirect hop', async () => {
    modelRoutes.set('/to-internal', (response) =>
      response.writeHead(302, { location: `${internal.base}/latest/meta-data/` }).end(),
    );
    modelRoutes.set('/to-metadata', (response) =>
      response.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
    );
    modelRoutes.set('/to-allowed', (response) => response.writeHead(301, { location: '/final' }).end());
    modelRoutes.set('/final', (response) => response.end('ok'));
    const policy = createOutboundPolicy(
      config({ allowUrlPrefixes: [`${models.base}/`, 'http://169.254.169.254/'], allowAddresses: ['127.0.0.1/32'] }),
    );
    await assert.rejects(policy.fetchBytes(`${models.base}/to-internal`), refusal);
    await assert.rejects(policy.fetchBytes(`${models.base}/to-metadata`), refusal);
    assert.equal(Buffer.from(await policy.fetchBytes(`${models.base}/to-allowed`)).toString(), 'ok');
    assert.deepEqual(internal.requests, []);
    // The fingerprint's HEAD follows the same checks.
    assert.match(
      unfingerprintableReason(await fingerprintHttpUri(`${models.base}/to-internal`, { outbound: policy })) ?? '',
      /not under a URL prefix/,
    );
    assert.deepEqual(internal.requests, []);
  });

  void it('never sends credentials across a redirect to another origin', async () => {
    const seen: (string | undefined)[] = [];
    const other = await localServer((request, response) => {
      seen.push(request.headers.authorization);
      response.end('other');
    });
    try {
      modelRoutes.set('/to-other', (response) => response.writeHead(302, { location: `${other.base}/landing` }).end());
      const policy = createOutboundPolicy(
        config({ allowUrlPrefixes: [`${models.base}/`, `${other.base}/`], allowAddresses: ['127.0.0.1/32'] }),
      );
      assert.equal(
        Buffer.from(
          await policy.fetchBytes(`${models.base}/to-other`, { headers: { authorization: 'Bearer CANARY-TOKEN' } }),
        ).toString(),
        'other',
      );
      assert.deepEqual(seen, [undefined]);
    } finally {
      await other.close();
    }
  });

  void it('refuses a model whose manifest names weights by absolute URL, absolute path or ..', async () => {
    const policy = createOutboundPolicy(
      config({ allowUrlPrefixes: [`${models.base}/`], allowAddresses: ['127.0.0.1/32'] }),
    );
    const store = createMemoryObjectStore({ buckets: ['models'] });
    for (const [name, path] of [
      ['absolute-url', `${internal.base}/latest/meta-data/iam`],
      ['protocol-relative', `//127.0.0.1:${internal.port}/x`],
      ['absolute-path', '/etc/passwd'],
      ['dotdot', '../other/weights.bin'],
      ['encoded-dotdot', '%2e%2e/other/weights.bin'],
    ] as const) {
      const files = await modelFiles([path]);
      modelRoutes.set(`/${name}/model.json`, (response) => response.end(files.json));
      await assert.rejects(
        loadModel(tf, store, `${models.base}/${name}/model.json`, { registryBucket: 'models', outbound: policy }),
        refusal,
        name,
      );
    }
    assert.deepEqual(internal.requests, []);
    const good = await modelFiles(['weights.bin']);
    modelRoutes.set('/good/model.json', (response) => response.end(good.json));
    modelRoutes.set('/good/weights.bin', (response) => response.end(good.weights));
    const model = await loadModel(tf, store, `${models.base}/good/model.json`, {
      registryBucket: 'models',
      outbound: policy,
    });
    assert.equal(model.outputs[0]?.shape[1], 2);
  });

  void it('streams downloads under a byte cap, declared or not', async () => {
    modelRoutes.set('/big-declared', (response) =>
      response.writeHead(200, { 'content-length': String(4096) }).end(Buffer.alloc(4096)),
    );
    modelRoutes.set('/big-chunked', (response) => {
      response.writeHead(200);
      for (let i = 0; i < 8; i += 1) response.write(Buffer.alloc(1024));
      response.end();
    });
    const policy = createOutboundPolicy(
      config({ allowUrlPrefixes: [`${models.base}/`], allowAddresses: ['127.0.0.1/32'], maxDownloadBytes: 2048 }),
    );
    await assert.rejects(
      policy.fetchBytes(`${models.base}/big-declared`),
      refusedWith(/2048-byte cap/, 'FineflowResourceLimit'),
    );
    await assert.rejects(
      policy.fetchBytes(`${models.base}/big-chunked`),
      refusedWith(/2048-byte cap/, 'FineflowResourceLimit'),
    );
  });
});

void describe('file:// sources', () => {
  let root: string;
  let outside: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'ff-roots-'));
    outside = await mkdtemp(join(tmpdir(), 'ff-outside-'));
    await writeFile(join(outside, 'secret.txt'), 'CANARY-OUTSIDE-CONTENT');
    await mkdir(join(root, 'data'));
    await writeFile(join(root, 'data', 'not-a-model.json'), 'CANARY-INSIDE-CONTENT that is not JSON');
    await symlink(outside, join(root, 'escape'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  /** The refusal message with the URI blanked: it must not depend on whether the file exists. */
  async function refusalFor(policy: ReturnType<typeof createOutboundPolicy>, uri: string): Promise<string> {
    try {
      await policy.readFile(uri);
    } catch (error) {
      assert.equal(
        (error as { details?: { code?: string } }).details?.code,
        OUTBOUND_REFUSED,
        `${uri}: ${(error as Error).message}`,
      );
      return (error as Error).message.replace(uri, 'URI');
    }
    throw new Error(`${uri} was read`);
  }

  void it('refuses everything when no root is configured', async () => {
    await assert.rejects(
      createOutboundPolicy(config({})).readFile(pathToFileURL(join(root, 'data', 'not-a-model.json')).href),
      refusedWith(/FINEFLOW_FILE_ROOTS/),
    );
  });

  void it('refuses paths outside the roots with the same message whether they exist or not', async () => {
    const policy = createOutboundPolicy(config({ fileRoots: [root] }));
    const existing = await refusalFor(policy, pathToFileURL(join(outside, 'secret.txt')).href);
    const missing = await refusalFor(policy, pathToFileURL(join(outside, 'no-such-file.txt')).href);
    assert.equal(existing, missing);
    assert.equal(
      await refusalFor(policy, 'file:///etc/passwd'),
      await refusalFor(policy, 'file:///etc/no-such-passwd'),
    );
    // Through a symlink inside the root, and through `..`: the same refusal.
    const viaLink = await refusalFor(policy, pathToFileURL(join(root, 'escape', 'secret.txt')).href);
    const viaLinkMissing = await refusalFor(policy, pathToFileURL(join(root, 'escape', 'no-such-file.txt')).href);
    assert.equal(viaLink, viaLinkMissing);
    assert.equal(
      await refusalFor(policy, `${pathToFileURL(root).href}/../${outside.split('/').pop()}/secret.txt`),
      existing.replace(/^URI/, 'URI'),
    );
    assert.doesNotMatch(existing + viaLink, /CANARY/);
  });

  void it('never quotes a file in an error, and fingerprints refuse without touching the path', async () => {
    const policy = createOutboundPolicy(config({ fileRoots: [root] }));
    const store = createMemoryObjectStore({ buckets: ['models'] });
    await assert.rejects(
      loadModel(tf, store, pathToFileURL(join(root, 'data', 'not-a-model.json')).href, {
        registryBucket: 'models',
        outbound: policy,
      }),
      (error: Error) => {
        assert.doesNotMatch(error.message, /CANARY/);
        assert.match(error.message, /not a tfjs model\.json/);
        return true;
      },
    );
    const reason =
      unfingerprintableReason(
        await fingerprintFileUri(pathToFileURL(join(outside, 'secret.txt')).href, { outbound: policy }),
      ) ?? '';
    assert.match(reason, /outside the directories that FINEFLOW_FILE_ROOTS allows/);
    assert.equal(
      await fingerprintFileUri(pathToFileURL(join(root, 'data', 'gone.csv')).href, { outbound: policy }),
      'missing',
    );
    assert.match(await fingerprintFileUri(pathToFileURL(join(root, 'data')).href, { outbound: policy }), /^listing:/);
  });
});

void describe('outbound configuration', () => {
  void it('parses the operator variables and rejects bad values naming the variable', () => {
    const parsed = loadOutboundConfig({
      FINEFLOW_OUTBOUND_ALLOW: 'https://models.example.com/v1/, http://127.0.0.1:8080',
      FINEFLOW_OUTBOUND_ALLOW_ADDRESSES: '127.0.0.1/32,::1',
      FINEFLOW_FILE_ROOTS: '/srv/data,/srv/models/',
      FINEFLOW_OUTBOUND_MAX_BYTES: '1024',
    });
    assert.deepEqual(parsed.allowUrlPrefixes, ['https://models.example.com/v1/', 'http://127.0.0.1:8080/']);
    assert.deepEqual(parsed.fileRoots, ['/srv/data', '/srv/models']);
    assert.equal(parsed.maxDownloadBytes, 1024);
    assert.deepEqual(loadOutboundConfig({}).allowUrlPrefixes, []);
    assert.throws(() => loadOutboundConfig({ FINEFLOW_OUTBOUND_ALLOW: 'ftp://x/' }), /FINEFLOW_OUTBOUND_ALLOW/);
    assert.throws(() => loadOutboundConfig({ FINEFLOW_OUTBOUND_ALLOW: 'https://u:p@x/' }), /credentials/);
    assert.throws(
      () => loadOutboundConfig({ FINEFLOW_OUTBOUND_ALLOW_ADDRESSES: '10.0.0.0/33' }),
      /FINEFLOW_OUTBOUND_ALLOW_ADDRESSES/,
    );
    assert.throws(() => loadOutboundConfig({ FINEFLOW_FILE_ROOTS: 'relative/dir' }), /FINEFLOW_FILE_ROOTS/);
    assert.throws(() => loadOutboundConfig({ FINEFLOW_OUTBOUND_MAX_BYTES: '-1' }), /FINEFLOW_OUTBOUND_MAX_BYTES/);
  });
});
