import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { loadTf } from '../../../src/ml/backend';
import { buildModel } from '../../../src/ml/models/architectures';
import { loadModel, saveModel } from '../../../src/ml/models/load-model';
import { listModels, promoteModel, registerModel, resolveModelUri, showModel } from '../../../src/ml/models/registry';
import { createOutboundPolicy, installOutboundPolicy } from '../../../src/security/outbound';
import { createMemoryObjectStore } from './helpers/memory-object-store';

const { tf } = loadTf({ preference: 'auto' });

function tinyModel() {
  return buildModel(tf, { kind: 'mlp', inputShape: [4], hidden: [3] }, { numClasses: 2 });
}

function outputOf(model: ReturnType<typeof tinyModel>): number[] {
  return Array.from((model.predict(tf.tensor2d([[0.1, 0.2, 0.3, 0.4]])) as ReturnType<typeof tf.tensor>).dataSync());
}

describe('model save/load', () => {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'fineflow-models-'));
  let server: Server;
  let baseUrl = '';
  const requests: string[] = [];
  const store = createMemoryObjectStore();

  before(async () => {
    const model = tinyModel();
    await saveModel(tf, store, model, 's3://models/tiny');
    server = createServer((request, response) => {
      requests.push(request.url ?? '');
      const key = (request.url ?? '').replace(/^\/models\//, '');
      const bytes = store.objects.get(`s3://models/tiny/${key}`);
      if (!bytes || !request.url?.startsWith('/models/')) {
        response.writeHead(404).end('not found');
        return;
      }
      response
        .writeHead(200, { 'content-type': key.endsWith('.json') ? 'application/json' : 'application/octet-stream' })
        .end(bytes);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The operator's decision (docs/security.md): this local server, the closed port 9 and the temp directory.
    installOutboundPolicy(
      createOutboundPolicy({
        allowUrlPrefixes: [`${baseUrl}/`, 'http://127.0.0.1:9/'],
        allowAddresses: ['127.0.0.1/32'],
        fileRoots: [directory],
        maxDownloadBytes: 1 << 20,
      }),
    );
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(directory, { recursive: true, force: true });
  });

  it('round-trips through the store, file:// and http:// with identical predictions', async () => {
    const original = await loadModel(tf, store, 's3://models/tiny', { registryBucket: 'models' });
    const expected = outputOf(original);
    const fileUri = pathToFileURL(path.join(directory, 'tiny')).href;
    await saveModel(tf, store, original, fileUri);
    assert.deepEqual(outputOf(await loadModel(tf, store, fileUri, { registryBucket: 'models' })), expected);
    assert.deepEqual(
      outputOf(await loadModel(tf, store, `${baseUrl}/models/model.json`, { registryBucket: 'models' })),
      expected,
    );
    assert.ok(requests.includes('/models/model.json') && requests.includes('/models/weights.bin'));
  });

  it('reports a missing HTTP model as invalid input and an unreachable host as unavailable', async () => {
    await assert.rejects(loadModel(tf, store, `${baseUrl}/nothing/model.json`, { registryBucket: 'models' }), {
      type: 'FineflowNotFound',
      message: /404/,
    });
    await assert.rejects(
      loadModel(tf, store, 'http://127.0.0.1:9/model.json', { registryBucket: 'models', http: { timeoutMs: 2000 } }),
      { type: 'FineflowDependencyUnavailable' },
    );
    await assert.rejects(
      loadModel(tf, store, 'ftp://x/model.json', { registryBucket: 'models' }),
      /use s3:\/\/, registry:\/\//,
    );
  });
});

describe('registry', () => {
  it('records lineage without credentials: user info and query strings of URIs are redacted in the card', async () => {
    const store = createMemoryObjectStore();
    await saveModel(tf, store, tinyModel(), 's3://runs/r1/finetune/model');
    const registered = await registerModel(store, {
      bucket: 'fineflow',
      name: 'redacted-lineage',
      modelUri: 's3://runs/r1/finetune/model',
      lineage: {
        runId: 'r1',
        baseModel: 'https://alice:hunter2@models.example/base/model.json?token=canary-123',
        dataset: 's3://d/x/',
      },
    });
    const cardText = (
      await store.getBytes(`s3://fineflow/models/redacted-lineage/${registered.version}/card.json`)
    ).toString('utf8');
    assert.ok(!cardText.includes('hunter2') && !cardText.includes('canary-123'), cardText);
    assert.match(cardText, /https:\/\/redacted@models\.example\/base\/model\.json\?redacted/);
    assert.match(cardText, /"dataset":\s*"s3:\/\/d\/x\/"/);
  });

  it('registers versions with cards and aliases, resolves, lists, shows and promotes', async () => {
    const store = createMemoryObjectStore();
    await saveModel(tf, store, tinyModel(), 's3://runs/r1/finetune/model');
    await saveModel(tf, store, tinyModel(), 's3://runs/r2/finetune/model');
    const first = await registerModel(store, {
      bucket: 'fineflow',
      name: 'defects',
      modelUri: 's3://runs/r1/finetune/model',
      aliases: ['champion'],
      lineage: { dataset: 's3://d/manifest.json', runId: 'r1', baseModel: 'registry://surface@1' },
      metrics: { accuracy: 0.9 },
      now: new Date('2026-01-01T00:00:00Z'),
    });
    assert.equal(first.version, 1);
    assert.equal(first.uri, 'registry://defects@1');
    const second = await registerModel(store, {
      bucket: 'fineflow',
      name: 'defects',
      modelUri: 's3://runs/r2/finetune/model/model.json',
      aliases: ['candidate'],
    });
    assert.equal(second.version, 2);
    assert.equal(
      await resolveModelUri(store, 'registry://defects@champion', 'fineflow'),
      's3://fineflow/models/defects/1/model.json',
    );
    assert.equal(
      await resolveModelUri(store, 'registry://defects', 'fineflow'),
      's3://fineflow/models/defects/2/model.json',
    );
    assert.equal(
      await resolveModelUri(store, 'registry://defects@2', 'fineflow'),
      's3://fineflow/models/defects/2/model.json',
    );
    await assert.rejects(
      resolveModelUri(store, 'registry://defects@nope', 'fineflow'),
      /no alias nope; aliases: champion, candidate/,
    );
    await assert.rejects(resolveModelUri(store, 'registry://defects@7', 'fineflow'), /no version 7/);
    await assert.rejects(resolveModelUri(store, 'registry://other@latest', 'fineflow'), /not in the registry/);
    // The registered copy loads and predicts like the source.
    const source = await loadModel(tf, store, 's3://runs/r1/finetune/model', { registryBucket: 'fineflow' });
    const registered = await loadModel(tf, store, 'registry://defects@champion', { registryBucket: 'fineflow' });
    assert.deepEqual(outputOf(registered), outputOf(source));

    const listed = await listModels(store, 'fineflow');
    assert.deepEqual(
      listed.map((entry) => [entry.name, entry.versions, entry.latest]),
      [['defects', 2, 2]],
    );
    const shown = await showModel(store, 'fineflow', 'defects');
    assert.equal(shown.versions[0]?.lineage.baseModel, 'registry://surface@1');
    assert.equal(shown.versions[0]?.metrics?.accuracy, 0.9);
    const promoted = await promoteModel(store, 'fineflow', 'defects', 'candidate', 'champion');
    assert.deepEqual(promoted, { name: 'defects', alias: 'champion', version: 2, previous: 1 });
    assert.equal(
      await resolveModelUri(store, 'registry://defects@champion', 'fineflow'),
      's3://fineflow/models/defects/2/model.json',
    );
    await assert.rejects(promoteModel(store, 'fineflow', 'defects', 1, 'latest'), /not be "latest"/);
    await assert.rejects(
      registerModel(store, { bucket: 'fineflow', name: 'Bad Name', modelUri: 's3://runs/r1/finetune/model' }),
      /lowercase/,
    );
  });
});
