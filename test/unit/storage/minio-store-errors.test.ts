import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { S3Error } from 'minio';
import {
  AccessDeniedError,
  ConflictError,
  DependencyUnavailableError,
  InternalError,
  NON_RETRYABLE_ERROR_TYPES,
  NotFoundError,
} from '../../../src/core/errors';
import { createMinioObjectStore, mapS3Error } from '../../../src/storage/minio-store';

function s3Error(code: string): S3Error {
  const error = new S3Error(`${code} from server`);
  error.code = code;
  return error;
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

void describe('mapS3Error', () => {
  void it('maps S3 codes to error classes that say whether a retry helps', () => {
    const notFound = mapS3Error(s3Error('NoSuchKey'), 's3://b1b/k', 'get');
    assert.ok(notFound instanceof NotFoundError);
    assert.equal(notFound.details.code, 'not-found');
    const noBucket = mapS3Error(s3Error('NoSuchBucket'), 's3://b1b/k', 'get');
    assert.ok(noBucket instanceof NotFoundError);
    assert.equal(noBucket.details.code, 'bucket-not-found');
    const denied = mapS3Error(s3Error('AccessDenied'), 's3://b1b/k', 'get');
    assert.ok(denied instanceof AccessDeniedError && !(denied instanceof NotFoundError));
    assert.ok(mapS3Error(s3Error('PreconditionFailed'), 's3://b1b/k', 'put') instanceof ConflictError);
    assert.ok(mapS3Error(s3Error('SlowDown'), 's3://b1b/k', 'put') instanceof DependencyUnavailableError);
    assert.ok(
      mapS3Error(
        Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
        's3://b1b/k',
        'get',
      ) instanceof DependencyUnavailableError,
    );
    assert.ok(mapS3Error(new Error('something odd'), 's3://b1b/k', 'get') instanceof InternalError);
  });

  void it('keeps the stage retry policy right: only unavailable (and conflicts) are retried', () => {
    const classes = ['NoSuchKey', 'AccessDenied', 'SlowDown', 'PreconditionFailed'].map((code) =>
      mapS3Error(s3Error(code), 's3://b1b/k', 'get'),
    );
    assert.deepEqual(
      classes.map((error) => [error.type, error.retryable, NON_RETRYABLE_ERROR_TYPES.includes(error.type)]),
      [
        ['FineflowNotFound', false, true],
        ['FineflowAccessDenied', false, true],
        ['FineflowDependencyUnavailable', true, false],
        ['FineflowConflict', true, false],
      ],
    );
  });
});

void describe('MinIO store without a server', () => {
  void it('reports a refused connection as DependencyUnavailableError', async () => {
    const port = await closedPort();
    const store = createMinioObjectStore({
      endPoint: '127.0.0.1',
      port,
      useSSL: false,
      accessKey: 'fineflow',
      secretKey: 'fineflow-secret',
      region: 'us-east-1',
      bucket: 'fineflow',
    });
    await assert.rejects(store.getBytes('s3://fineflow/x'), DependencyUnavailableError);
    await assert.rejects(store.ensureBucket('fineflow'), DependencyUnavailableError);
    await assert.rejects(store.putBytes('s3://fineflow/x', 'x'), DependencyUnavailableError);
  });

  void it('gives up on a server that accepts connections but never answers', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const store = createMinioObjectStore(
        {
          endPoint: '127.0.0.1',
          port,
          useSSL: false,
          accessKey: 'fineflow',
          secretKey: 'fineflow-secret',
          region: 'us-east-1',
          bucket: 'fineflow',
        },
        { idleTimeoutMs: 300 },
      );
      const started = Date.now();
      await assert.rejects(store.getBytes('s3://fineflow/x'), DependencyUnavailableError);
      assert.ok(Date.now() - started < 5000, 'the idle timeout, not a test timeout, ended the call');
    } finally {
      silent.close();
    }
  });
});
