/**
 * An {@link ObjectStore} view whose writes and removals must stay under one prefix (a stage's
 * run directory), so a stage input such as `output: ../other-run/x` cannot overwrite another
 * run (a violation rejects with InvalidInputError `outside-prefix`). Reads are not confined: a stage reads datasets and
 * upstream outputs from anywhere.
 */
import type { ObjectStore } from './object-store';
import { asPrefixUri, confineToPrefix, formatS3Uri } from '../core/storage/uri';

export function confineWrites(store: ObjectStore, prefixUri: string): ObjectStore {
  const prefix = asPrefixUri(prefixUri);
  const inside = (uri: string): string => formatS3Uri(confineToPrefix(uri, prefix));
  return {
    ensureBucket: (bucket, options) => store.ensureBucket(bucket, options),
    getStream: (uri, options) => store.getStream(uri, options),
    getBytes: (uri, limit) => store.getBytes(uri, limit),
    getJson: (uri, limit) => store.getJson(uri, limit),
    stat: (uri, options) => store.stat(uri, options),
    list: (uri, options) => store.list(uri, options),
    putStream: async (uri, body, options) => store.putStream(inside(uri), body, options),
    putBytes: async (uri, body, options) => store.putBytes(inside(uri), body, options),
    putJson: async (uri, value, options) => store.putJson(inside(uri), value, options),
    remove: async (uri) => store.remove(inside(uri)),
    removePrefix: async (uri) => store.removePrefix(uri === prefix ? prefix : inside(uri)),
  };
}
