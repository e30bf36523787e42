/**
 * Load a LayersModel from any URI Fineflow accepts: `s3://` (the store), `registry://NAME@ALIAS`,
 * `file://` and `http(s)://`; and save one to `s3://` or `file://`.
 */
import { FineflowError, InvalidInputError } from '../../core/errors';
import { outboundPolicy, type OutboundPolicy } from '../../security/outbound';
import { redactUri } from '../../core/security/redact';
import type { ObjectStore } from '../../storage/object-store';
import type { Tf } from '../backend';
import type { LayersModel } from './architectures';
import { fileModelHandler, httpModelHandler, storeModelHandler, type HttpLoadOptions } from './model-io';
import { resolveModelUri } from './registry';

export interface ModelLocationOptions {
  /** Bucket of the registry, for `registry://` URIs. */
  readonly registryBucket: string;
  readonly http?: HttpLoadOptions;
  /** What file:// and http(s):// may reach; default the process's installed policy (src/security/outbound.ts). */
  readonly outbound?: OutboundPolicy;
  /**
   * Ends the load early: checked between its steps and passed to http(s) requests. A store's own requests end with it
   * only when the store was made with the same signal (createObjectStoreFromConfig's `signal`).
   */
  readonly signal?: AbortSignal;
}

/** The http(s) options with the load's signal added (both signals end the requests). */
function httpOptions({ http, signal }: ModelLocationOptions): HttpLoadOptions | undefined {
  if (!signal) return http;
  return { ...http, signal: http?.signal ? AbortSignal.any([signal, http.signal]) : signal };
}

export async function loadModel(
  tf: Tf,
  store: ObjectStore,
  uri: string,
  options: ModelLocationOptions,
): Promise<LayersModel> {
  const resolved = await resolveModelUri(store, uri, options.registryBucket);
  options.signal?.throwIfAborted();
  let handler;
  const policy = options.outbound ?? outboundPolicy();
  if (resolved.startsWith('s3://')) handler = storeModelHandler(tf, store, resolved);
  else if (resolved.startsWith('file://')) handler = fileModelHandler(tf, resolved, policy);
  else if (resolved.startsWith('http://') || resolved.startsWith('https://'))
    handler = httpModelHandler(resolved, httpOptions(options), policy);
  else
    throw new InvalidInputError(
      `cannot load a model from ${redactUri(uri)}; use s3://, registry://, file:// or http(s)://`,
      { uri: redactUri(uri) },
    );
  try {
    return await tf.loadLayersModel(handler);
  } catch (error) {
    // Keep the class: a denied or corrupt read must not turn into "not a model".
    if (error instanceof FineflowError) throw error;
    throw new InvalidInputError(
      `${redactUri(uri)} is not a loadable tfjs LayersModel: ${(error as Error).message}`,
      { uri: redactUri(uri) },
      { cause: error },
    );
  }
}

export async function saveModel(tf: Tf, store: ObjectStore, model: LayersModel, uri: string): Promise<string> {
  if (uri.startsWith('s3://')) await model.save(storeModelHandler(tf, store, uri));
  else if (uri.startsWith('file://')) await model.save(fileModelHandler(tf, uri));
  else throw new InvalidInputError(`cannot save a model to ${uri}; use s3:// or file://`, { uri });
  return uri;
}
