/**
 * An {@link ObjectStore} that counts its requests, failures (by Fineflow error type, so an S3
 * outage shows as `FineflowDependencyUnavailable`) and the bytes of whole-object reads and writes.
 * Wraps the worker's store once at start, so every stage, cache and log write is counted.
 * Streamed reads count as requests only: their size is known when the consumer finishes.
 */
import type { ObjectStore, PutResult } from '../storage/object-store';
import { errorTypeOf, type FineflowMetrics, type StoreOperation } from './metrics';

export function instrumentStore(store: ObjectStore, metrics: FineflowMetrics): ObjectStore {
  const timed = async <T>(operation: StoreOperation, call: () => Promise<T>): Promise<T> => {
    try {
      const value = await call();
      metrics.storeRequest(operation, 'ok');
      return value;
    } catch (thrown) {
      metrics.storeRequest(operation, 'error', errorTypeOf(thrown));
      throw thrown;
    }
  };
  const put = async (call: () => Promise<PutResult>): Promise<PutResult> => {
    const result = await timed('put', call);
    metrics.storeBytes('in', result.size);
    return result;
  };
  return {
    ensureBucket: (bucket, options) => store.ensureBucket(bucket, options),
    getStream: (uri, options) => timed('get', () => store.getStream(uri, options)),
    getBytes: async (uri, limit) => {
      const bytes = await timed('get', () => store.getBytes(uri, limit));
      metrics.storeBytes('out', bytes.length);
      return bytes;
    },
    getJson: <T>(uri: string, limit?: Parameters<ObjectStore['getJson']>[1]) =>
      timed('get', () => store.getJson<T>(uri, limit)),
    stat: (uri, options) => timed('stat', () => store.stat(uri, options)),
    list: (uri) => timed('list', () => store.list(uri)),
    putStream: (uri, body, options) => put(() => store.putStream(uri, body, options)),
    putBytes: (uri, body, options) => put(() => store.putBytes(uri, body, options)),
    putJson: (uri, value, options) => put(() => store.putJson(uri, value, options)),
    remove: (uri) => timed('remove', () => store.remove(uri)),
    removePrefix: (uri) => timed('remove', () => store.removePrefix(uri)),
    ...(store.presignGet ? { presignGet: store.presignGet.bind(store) } : {}),
  };
}
