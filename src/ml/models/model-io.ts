/**
 * Save and load tfjs LayersModels (the `model.json` + `weights.bin` layout of
 * `tf.io`) through the ObjectStore, the local file system and HTTP(S). Each location is a
 * custom `tf.io.IOHandler`, so `model.save(handler)` and `tf.loadLayersModel(handler)` work
 * unchanged.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type * as TfModule from '@tensorflow/tfjs';
import { DependencyUnavailableError, InvalidInputError } from '../../errors';
import type { ObjectStore } from '../../storage/object-store';
import type { Tf } from '../backend';
import { joinUri } from '../uri';

type ModelArtifacts = TfModule.io.ModelArtifacts;
type ModelJson = TfModule.io.ModelJSON;
type IOHandler = TfModule.io.IOHandler;

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** `…/model.json` for a URI naming either the file or its directory. */
export function modelJsonUri(uri: string): string {
  return uri.endsWith('.json') ? uri : joinUri(uri, MODEL_JSON);
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function modelJsonOf(tf: Tf, artifacts: ModelArtifacts): { json: ModelJson; weights: Buffer } {
  const weights = artifacts.weightData ? Buffer.from(tf.io.CompositeArrayBuffer.join(artifacts.weightData)) : Buffer.alloc(0);
  const json: ModelJson = {
    modelTopology: artifacts.modelTopology ?? {},
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy ?? 'fineflow',
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
    ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
    ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
  };
  return { json, weights };
}

function saveResultOf(json: ModelJson, weights: Buffer): TfModule.io.SaveResult {
  return {
    modelArtifactsInfo: {
      dateSaved: new Date(),
      modelTopologyType: 'JSON',
      modelTopologyBytes: JSON.stringify(json.modelTopology).length,
      weightSpecsBytes: JSON.stringify(json.weightsManifest).length,
      weightDataBytes: weights.length,
    },
  };
}

/** Assemble artifacts from a model.json and a function that fetches a path next to it. */
async function artifactsFrom(json: ModelJson, where: string, fetchRelative: (relativePath: string) => Promise<Uint8Array>): Promise<ModelArtifacts> {
  if (!json || typeof json !== 'object' || !json.modelTopology) {
    throw new InvalidInputError(`${where} is not a tfjs LayersModel (no modelTopology)`, { uri: where });
  }
  const weightSpecs: TfModule.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest ?? []) {
    weightSpecs.push(...group.weights);
    for (const relativePath of group.paths) buffers.push(await fetchRelative(relativePath));
  }
  return {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    weightSpecs,
    weightData: toArrayBuffer(Buffer.concat(buffers)),
    ...(json.trainingConfig ? { trainingConfig: json.trainingConfig } : {}),
    ...(json.userDefinedMetadata ? { userDefinedMetadata: json.userDefinedMetadata } : {}),
  };
}

function parentOf(uri: string): string {
  return uri.slice(0, uri.lastIndexOf('/'));
}

/** model.json + weights.bin under `uri` (a directory URI or the model.json URI) in the store. */
export function storeModelHandler(tf: Tf, store: ObjectStore, uri: string): IOHandler {
  const jsonUri = modelJsonUri(uri);
  const directory = parentOf(jsonUri);
  return {
    async save(artifacts) {
      const { json, weights } = modelJsonOf(tf, artifacts);
      await store.putBytes(joinUri(directory, WEIGHTS_BIN), weights, { contentType: 'application/octet-stream' });
      await store.putJson(jsonUri, json);
      return saveResultOf(json, weights);
    },
    async load() {
      const json = await store.getJson<ModelJson>(jsonUri);
      return artifactsFrom(json, jsonUri, (relativePath) => store.getBytes(joinUri(directory, relativePath)));
    },
  };
}

function filePathOf(uri: string): string {
  return decodeURIComponent(new URL(uri).pathname);
}

/** model.json + weights.bin on the local file system (`file:///abs/dir` or `file:///abs/dir/model.json`). */
export function fileModelHandler(tf: Tf, uri: string): IOHandler {
  const jsonPath = modelJsonUri(filePathOf(uri));
  const directory = path.dirname(jsonPath);
  return {
    async save(artifacts) {
      const { json, weights } = modelJsonOf(tf, artifacts);
      await fs.mkdir(directory, { recursive: true });
      await fs.writeFile(path.join(directory, WEIGHTS_BIN), weights);
      await fs.writeFile(jsonPath, JSON.stringify(json));
      return saveResultOf(json, weights);
    },
    async load() {
      let text: string;
      try {
        text = await fs.readFile(jsonPath, 'utf8');
      } catch (error) {
        throw new InvalidInputError(`cannot read ${jsonPath}: ${(error as Error).message}`, { uri });
      }
      return artifactsFrom(JSON.parse(text) as ModelJson, uri, (relativePath) => fs.readFile(path.join(directory, relativePath)));
    },
  };
}

export interface HttpLoadOptions {
  /** Per-request timeout; default 30 s. */
  readonly timeoutMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

async function httpGet(url: string, options: HttpLoadOptions): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { ...options.headers }, signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) });
  } catch (error) {
    throw new DependencyUnavailableError(`GET ${url} failed: ${(error as Error).message}`, { url }, { cause: error });
  }
  if (!response.ok) {
    const retryable = response.status >= 500 || response.status === 429;
    const message = `GET ${url} answered ${response.status} ${response.statusText}`;
    throw retryable ? new DependencyUnavailableError(message, { url, status: response.status }) : new InvalidInputError(message, { url, status: response.status });
  }
  return new Uint8Array(await response.arrayBuffer());
}

/** Read-only: a model served over HTTP(S); weights paths are resolved relative to model.json. */
export function httpModelHandler(uri: string, options: HttpLoadOptions = {}): IOHandler {
  const jsonUrl = new URL(uri.endsWith('.json') ? uri : `${uri.replace(/\/+$/, '')}/${MODEL_JSON}`);
  return {
    async load() {
      const bytes = await httpGet(jsonUrl.href, options);
      let json: ModelJson;
      try {
        json = JSON.parse(Buffer.from(bytes).toString('utf8')) as ModelJson;
      } catch {
        throw new InvalidInputError(`${jsonUrl.href} is not JSON`, { url: jsonUrl.href });
      }
      return artifactsFrom(json, jsonUrl.href, (relativePath) => httpGet(new URL(relativePath, jsonUrl).href, options));
    },
  };
}
