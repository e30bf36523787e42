/**
 * Load a LayersModel from any URI Fineflow accepts: `s3://` (the store), `registry://NAME@ALIAS`,
 * `file://` and `http(s)://`; and save one to `s3://` or `file://`.
 */
import { FineflowError, InvalidInputError } from '../../errors';
import type { ObjectStore } from '../../storage/object-store';
import type { Tf } from '../backend';
import type { LayersModel } from './architectures';
import { fileModelHandler, httpModelHandler, storeModelHandler, type HttpLoadOptions } from './model-io';
import { resolveModelUri } from './registry';

export interface ModelLocationOptions {
  /** Bucket of the registry, for `registry://` URIs. */
  readonly registryBucket: string;
  readonly http?: HttpLoadOptions;
}

export async function loadModel(tf: Tf, store: ObjectStore, uri: string, options: ModelLocationOptions): Promise<LayersModel> {
  const resolved = await resolveModelUri(store, uri, options.registryBucket);
  let handler;
  if (resolved.startsWith('s3://')) handler = storeModelHandler(tf, store, resolved);
  else if (resolved.startsWith('file://')) handler = fileModelHandler(tf, resolved);
  else if (resolved.startsWith('http://') || resolved.startsWith('https://')) handler = httpModelHandler(resolved, options.http);
  else throw new InvalidInputError(`cannot load a model from ${uri}; use s3://, registry://, file:// or http(s)://`, { uri });
  try {
    return await tf.loadLayersModel(handler);
  } catch (error) {
    // Keep the class: a denied or corrupt read must not turn into "not a model".
    if (error instanceof FineflowError) throw error;
    throw new InvalidInputError(`${uri} is not a loadable tfjs LayersModel: ${(error as Error).message}`, { uri }, { cause: error });
  }
}

export async function saveModel(tf: Tf, store: ObjectStore, model: LayersModel, uri: string): Promise<string> {
  if (uri.startsWith('s3://')) await model.save(storeModelHandler(tf, store, uri));
  else if (uri.startsWith('file://')) await model.save(fileModelHandler(tf, uri));
  else throw new InvalidInputError(`cannot save a model to ${uri}; use s3:// or file://`, { uri });
  return uri;
}
