/** Deployment defaults in src/config.ts: no default S3 credentials off the local machine, the S3 CA option. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stackEndpoints } from '../../../src/cli/commands/dev';
import { loadConfig } from '../../../src/config';
import { InvalidInputError } from '../../../src/core/errors';
import { createMinioObjectStore } from '../../../src/storage/minio-store';

test('a remote S3 endpoint without credentials refuses to start, naming the variable', () => {
  assert.throws(
    () => loadConfig({ FINEFLOW_S3_ENDPOINT: 'https://minio.fineflow.svc:9000' }),
    (error: unknown) => {
      assert.ok(error instanceof InvalidInputError);
      assert.match(
        error.message,
        /FINEFLOW_S3_ACCESS_KEY is not set: the S3 endpoint minio\.fineflow\.svc is not local/,
      );
      return true;
    },
  );
  assert.throws(
    () => loadConfig({ FINEFLOW_S3_ENDPOINT: 'http://10.0.0.5:9000', FINEFLOW_S3_ACCESS_KEY: 'fineflow-worker' }),
    /FINEFLOW_S3_SECRET_KEY is not set/,
  );
  const explicit = loadConfig({
    FINEFLOW_S3_ENDPOINT: 'http://10.0.0.5:9000',
    FINEFLOW_S3_ACCESS_KEY: 'w',
    FINEFLOW_S3_SECRET_KEY: 's',
  });
  assert.deepEqual([explicit.s3.accessKey, explicit.s3.secretKey], ['w', 's']);
});

test('the local defaults still apply to a loopback endpoint', () => {
  const local = loadConfig({ FINEFLOW_S3_ENDPOINT: 'http://127.0.0.1:9370' });
  assert.deepEqual([local.s3.accessKey, local.s3.secretKey], ['fineflow', 'fineflow-secret']);
});

test('FINEFLOW_S3_CA needs an https endpoint and a readable file', () => {
  assert.throws(
    () => loadConfig({ FINEFLOW_S3_ENDPOINT: 'http://127.0.0.1:9000', FINEFLOW_S3_CA: '/etc/ca.pem' }),
    /FINEFLOW_S3_CA is set but FINEFLOW_S3_ENDPOINT is not https/,
  );
  const config = loadConfig({ FINEFLOW_S3_ENDPOINT: 'https://127.0.0.1:9443', FINEFLOW_S3_CA: '/nonexistent/ca.pem' });
  assert.equal(config.s3.caPath, '/nonexistent/ca.pem');
  assert.throws(
    () => createMinioObjectStore(config.s3),
    /FINEFLOW_S3_CA=\/nonexistent\/ca\.pem: cannot read the CA bundle/,
  );
  const dir = mkdtempSync(path.join(tmpdir(), 'ff-ca-'));
  writeFileSync(path.join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
  assert.ok(createMinioObjectStore({ ...config.s3, caPath: path.join(dir, 'ca.pem') }));
});

test('`fineflow dev` shows the command that reads the secret key, never the key', () => {
  const endpoints = stackEndpoints({ FINEFLOW_S3_SECRET_KEY: 'canary-secret-value' });
  assert.equal(endpoints.env.FINEFLOW_S3_ACCESS_KEY, 'fineflow-cli');
  assert.doesNotMatch(JSON.stringify(endpoints), /canary-secret-value|fineflow-secret/);
  assert.match(endpoints.secretKeyCommand, /infra\/stack\.sh secret-key cli$/);
});
