/**
 * Save and load tfjs LayersModels (the `model.json` + `weights.bin` layout of
 * `tf.io`) through the ObjectStore, the local file system and HTTP(S). Each location is a
 * custom `tf.io.IOHandler`, so `model.save(handler)` and `tf.loadLayersModel(handler)` work
 * unchanged.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as TfModule from '@tensorflow/tfjs';
import { InvalidInputError } from '../../core/errors';
import { OUTBOUND_REFUSED, outboundPolicy, type OutboundPolicy } from '../../security/outbound';
import { redactUri } from '../../core/security/redact';
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
  const weights = artifacts.weightData
    ? Buffer.from(tf.io.CompositeArrayBuffer.join(artifacts.weightData))
    : Buffer.alloc(0);
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

/**
 * A weights path from a (possibly untrusted) model.json must name a file next to it: relative,
 * no scheme, no `..` or `.` segment (also percent-encoded), no backslash. Anything else could
 * point the loader at another host or another directory (docs/security.md, item 1).
 */
export function checkWeightsPath(relativePath: unknown, where: string): string {
  const text = typeof relativePath === 'string' ? relativePath : '';
  let decoded = text;
  try {
    decoded = decodeURIComponent(text);
  } catch {
    decoded = '';
  }
  const segments = decoded.split('/');
  const bad =
    text === '' ||
    decoded === '' ||
    /^[a-z][a-z0-9+.-]*:/i.test(decoded) ||
    decoded.startsWith('/') ||
    /[\\\0?#]/.test(decoded) ||
    segments.some((segment) => segment === '..' || segment === '.' || segment === '');
  if (bad) {
    throw new InvalidInputError(
      `${redactUri(where)}: weights path ${JSON.stringify(text.slice(0, 200))} must be a relative path next to ` +
        `model.json (no scheme, no leading /, no ..)`,
      {
        uri: redactUri(where),
        code: OUTBOUND_REFUSED,
      },
    );
  }
  return decoded;
}

/** Assemble artifacts from a model.json and a function that fetches a path next to it. */
async function artifactsFrom(
  json: ModelJson,
  where: string,
  fetchRelative: (relativePath: string) => Promise<Uint8Array>,
): Promise<ModelArtifacts> {
  if (!json || typeof json !== 'object' || !json.modelTopology) {
    throw new InvalidInputError(`${redactUri(where)} is not a tfjs LayersModel (no modelTopology)`, {
      uri: redactUri(where),
    });
  }
  const weightSpecs: TfModule.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest ?? []) {
    weightSpecs.push(...group.weights);
    // Every path is checked before any is fetched: one bad entry refuses the whole model.
    for (const relativePath of group.paths) checkWeightsPath(relativePath, where);
  }
  for (const group of json.weightsManifest ?? []) {
    for (const relativePath of group.paths) buffers.push(await fetchRelative(checkWeightsPath(relativePath, where)));
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

/** Parse model.json text without ever quoting it in an error (it may be any file). */
function parseModelJson(bytes: Uint8Array, where: string): ModelJson {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as ModelJson;
  } catch {
    throw new InvalidInputError(`${redactUri(where)} is not a tfjs model.json (not JSON)`, { uri: redactUri(where) });
  }
}

/**
 * model.json + weights.bin on the local file system (`file:///abs/dir` or `file:///abs/dir/model.json`).
 * Loading goes through the outbound policy (FINEFLOW_FILE_ROOTS); saving is the operator's own
 * code path (the demo, tests), not reachable from a pipeline.
 */
export function fileModelHandler(tf: Tf, uri: string, policy: OutboundPolicy = outboundPolicy()): IOHandler {
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
      const jsonUri = pathToFileURL(jsonPath).href;
      const json = parseModelJson(await policy.readFile(jsonUri), jsonUri);
      return artifactsFrom(json, jsonUri, (relativePath) =>
        policy.readFile(pathToFileURL(path.join(directory, relativePath)).href),
      );
    },
  };
}

/** model.json is topology and a manifest: far smaller than this, whatever the model. */
const MAX_MODEL_JSON_BYTES = 16 * 1024 * 1024;

export interface HttpLoadOptions {
  /** Per-request timeout; default 30 s. */
  readonly timeoutMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborts the requests (a `serve` stopped while its model loads). */
  readonly signal?: AbortSignal;
}

/** Read-only: a model served over HTTP(S); weights paths are resolved relative to model.json, same origin. */
export function httpModelHandler(
  uri: string,
  options: HttpLoadOptions = {},
  policy: OutboundPolicy = outboundPolicy(),
): IOHandler {
  const jsonUrl = new URL(uri.endsWith('.json') ? uri : `${uri.replace(/\/+$/, '')}/${MODEL_JSON}`);
  const request = {
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    timeoutMs: options.timeoutMs ?? 30_000,
  };
  return {
    async load() {
      const json = parseModelJson(
        await policy.fetchBytes(jsonUrl.href, { ...request, maxBytes: MAX_MODEL_JSON_BYTES }),
        jsonUrl.href,
      );
      return artifactsFrom(json, jsonUrl.href, (relativePath) => {
        const weightsUrl = new URL(relativePath, jsonUrl);
        if (weightsUrl.origin !== jsonUrl.origin) {
          throw new InvalidInputError(
            `${redactUri(jsonUrl.href)}: weights must come from the same origin as model.json`,
            { uri: redactUri(jsonUrl.href), code: OUTBOUND_REFUSED },
          );
        }
        return policy.fetchBytes(weightsUrl.href, request);
      });
    },
  };
}
