/**
 * The least-privilege MinIO users that `infra/stack.sh up` creates (policies in infra/minio/), on
 * the real test stack: tests and the CLI run as `fineflow-cli`, workers as `fineflow-worker`, and
 * neither is the root user. The worker may read and write only the Fineflow bucket and read the
 * dataset buckets; it cannot create buckets or write a dataset.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client } from 'minio';
import { loadConfig, type FineflowConfig } from '../../../src/config';
import { createMinioObjectStore } from '../../../src/storage/minio-store';
import type { ObjectStore } from '../../../src/storage/object-store';
import { requireStack } from '../../helpers/stack';

const deniedError = (error: unknown): boolean =>
  /access denied|AccessDenied/i.test(error instanceof Error ? `${error.name} ${error.message}` : String(error));

void describe('MinIO users of the local stack', () => {
  let cli: FineflowConfig;
  let worker: FineflowConfig;
  let cliStore: ObjectStore;
  let workerStore: ObjectStore;
  const datasets = `ff-users-${randomBytes(4).toString('hex')}`;
  const key = `users-test/${randomBytes(4).toString('hex')}.txt`;

  before(async () => {
    cli = await requireStack();
    const { FINEFLOW_WORKER_S3_ACCESS_KEY: accessKey, FINEFLOW_WORKER_S3_SECRET_KEY: secretKey } = process.env;
    assert.ok(accessKey && secretKey, 'infra/stack-env.sh exports FINEFLOW_WORKER_S3_ACCESS_KEY / _SECRET_KEY');
    worker = loadConfig({ ...process.env, FINEFLOW_S3_ACCESS_KEY: accessKey, FINEFLOW_S3_SECRET_KEY: secretKey });
    cliStore = createMinioObjectStore(cli.s3);
    workerStore = createMinioObjectStore(worker.s3);
    await cliStore.ensureBucket(datasets);
    await cliStore.putBytes(`s3://${datasets}/train/a.csv`, Buffer.from('x,y\n1,0\n'));
  });

  after(async () => {
    await workerStore.remove(`s3://${cli.s3.bucket}/${key}`).catch(() => undefined);
    await cliStore.remove(`s3://${datasets}/train/a.csv`).catch(() => undefined);
    const raw = new Client({
      endPoint: cli.s3.endPoint,
      port: cli.s3.port,
      useSSL: cli.s3.useSSL,
      accessKey: cli.s3.accessKey,
      secretKey: cli.s3.secretKey,
    });
    await raw.removeBucket(datasets).catch(() => undefined);
  });

  test('tests, the CLI and workers use two distinct users, neither of them root', () => {
    const root = process.env.FINEFLOW_MINIO_ROOT_USER ?? 'fineflow';
    assert.equal(cli.s3.accessKey, 'fineflow-cli');
    assert.equal(worker.s3.accessKey, 'fineflow-worker');
    assert.notEqual(cli.s3.accessKey, root);
    assert.notEqual(worker.s3.accessKey, root);
  });

  test('the worker reads and writes the Fineflow bucket and reads dataset buckets', async () => {
    await workerStore.ensureBucket(worker.s3.bucket);
    await workerStore.putBytes(`s3://${worker.s3.bucket}/${key}`, Buffer.from('hello'));
    assert.equal((await workerStore.getBytes(`s3://${worker.s3.bucket}/${key}`)).toString(), 'hello');
    assert.equal((await workerStore.getBytes(`s3://${datasets}/train/a.csv`)).toString(), 'x,y\n1,0\n');
  });

  test('the worker cannot write a dataset bucket or create a bucket', async () => {
    await assert.rejects(workerStore.putBytes(`s3://${datasets}/train/b.csv`, Buffer.from('x')), deniedError);
    await assert.rejects(workerStore.remove(`s3://${datasets}/train/a.csv`), deniedError);
    await assert.rejects(workerStore.ensureBucket(`ff-users-new-${randomBytes(4).toString('hex')}`), deniedError);
  });

  test('a wrong secret is refused (the users are real, not anonymous access)', async () => {
    const forged = createMinioObjectStore({ ...worker.s3, secretKey: 'not-the-secret' });
    await assert.rejects(forged.getBytes(`s3://${datasets}/train/a.csv`), (error: unknown) => error instanceof Error);
  });
});
