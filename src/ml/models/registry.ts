/**
 * The model registry: versioned models in the store.
 *
 * ```
 * s3://<bucket>/models/<name>/<version>/model.json   tfjs LayersModel
 * s3://<bucket>/models/<name>/<version>/weights.bin
 * s3://<bucket>/models/<name>/<version>/card.json    model card: lineage, metrics, hyperparameters
 * s3://<bucket>/models/<name>/aliases.json           {"champion": 3, …}
 * ```
 *
 * Versions are integers from 1. `registry://NAME@ALIAS`, `registry://NAME@VERSION` and
 * `registry://NAME` (= latest) name a model. S3 has no compare-and-swap, so two registrations
 * of the same name at the same instant can race; the registry re-checks the version it picked
 * just before writing, which narrows (not closes) that window.
 */
import { InvalidInputError } from '../../errors';
import type { JsonObject } from '../../spec/plan-types';
import type { ObjectStore } from '../../storage/object-store';
import { joinUri, parseS3Uri, uriOf } from '../uri';
import { MODEL_JSON, modelJsonUri, WEIGHTS_BIN } from './model-io';

export interface ModelLineage {
  /** Dataset manifest URI (and its version/fingerprint when known). */
  readonly dataset?: string;
  readonly datasetVersion?: string;
  /** Run and stage that produced the model. */
  readonly runId?: string;
  readonly stage?: string;
  /** The base model it was fine-tuned from. */
  readonly baseModel?: string;
}

export interface ModelCard {
  readonly name: string;
  readonly version: number;
  readonly createdAt: string;
  readonly description?: string;
  /** The URI the registered files were copied from. */
  readonly source: string;
  readonly lineage: ModelLineage;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly hyperparameters?: JsonObject;
  readonly classes?: readonly string[];
  readonly inputShape?: readonly number[];
  /** TensorFlow backend that trained it. */
  readonly backend?: string;
}

export type Aliases = Readonly<Record<string, number>>;

const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const ALIAS_PATTERN = /^[a-z][a-z0-9._-]{0,62}$/;

function checkName(name: string): void {
  if (!NAME_PATTERN.test(name)) throw new InvalidInputError(`model name ${JSON.stringify(name)} must be lowercase letters, digits, '.', '_' or '-'`, { name });
}

function checkAlias(alias: string): void {
  if (!ALIAS_PATTERN.test(alias) || alias === 'latest') {
    throw new InvalidInputError(`alias ${JSON.stringify(alias)} must start with a letter, use lowercase letters, digits, '.', '_' or '-', and not be "latest"`, { alias });
  }
}

export function modelPrefix(bucket: string, name: string): string {
  return uriOf(bucket, `models/${name}`);
}

export function versionPrefix(bucket: string, name: string, version: number): string {
  return joinUri(modelPrefix(bucket, name), String(version));
}

export interface RegistryReference {
  readonly name: string;
  /** A version number, an alias, or `latest`. */
  readonly selector: string;
}

export function parseRegistryUri(uri: string): RegistryReference {
  const match = /^registry:\/\/([^@/]+)(?:@([^/]+))?$/.exec(uri);
  if (!match || !match[1]) throw new InvalidInputError(`${uri} is not a registry URI; expected registry://NAME@ALIAS or registry://NAME@VERSION`, { uri });
  checkName(match[1]);
  return { name: match[1], selector: match[2] ?? 'latest' };
}

export async function readAliases(store: ObjectStore, bucket: string, name: string): Promise<Aliases> {
  const uri = joinUri(modelPrefix(bucket, name), 'aliases.json');
  return (await store.stat(uri)) ? store.getJson<Aliases>(uri) : {};
}

/** Registered versions of `name`, ascending. */
export async function listVersions(store: ObjectStore, bucket: string, name: string): Promise<number[]> {
  const prefix = `${modelPrefix(bucket, name)}/`;
  const versions = new Set<number>();
  for (const info of await store.list(prefix)) {
    const match = /^models\/[^/]+\/(\d+)\/card\.json$/.exec(info.key);
    if (match?.[1]) versions.add(Number(match[1]));
  }
  return [...versions].sort((a, b) => a - b);
}

/** The version a registry reference points at. */
export async function resolveVersion(store: ObjectStore, bucket: string, reference: RegistryReference): Promise<number> {
  const versions = await listVersions(store, bucket, reference.name);
  if (versions.length === 0) throw new InvalidInputError(`model ${reference.name} is not in the registry (s3://${bucket}/models/)`, { name: reference.name });
  if (reference.selector === 'latest') return versions[versions.length - 1] as number;
  if (/^\d+$/.test(reference.selector)) {
    const version = Number(reference.selector);
    if (!versions.includes(version)) throw new InvalidInputError(`model ${reference.name} has no version ${version}; versions: ${versions.join(', ')}`, { name: reference.name });
    return version;
  }
  const aliases = await readAliases(store, bucket, reference.name);
  const version = aliases[reference.selector];
  if (version === undefined) {
    const known = Object.keys(aliases);
    throw new InvalidInputError(`model ${reference.name} has no alias ${reference.selector}; aliases: ${known.length ? known.join(', ') : 'none'}`, {
      name: reference.name,
      alias: reference.selector,
    });
  }
  return version;
}

/** `registry://…` → the `s3://…/model.json` it names; other URIs unchanged. */
export async function resolveModelUri(store: ObjectStore, uri: string, bucket: string): Promise<string> {
  if (!uri.startsWith('registry://')) return uri;
  const reference = parseRegistryUri(uri);
  const version = await resolveVersion(store, bucket, reference);
  return joinUri(versionPrefix(bucket, reference.name, version), MODEL_JSON);
}

export interface RegisterModelOptions {
  readonly bucket: string;
  readonly name: string;
  /** Where the model is now: an `s3://` model directory or model.json in the same store. */
  readonly modelUri: string;
  readonly aliases?: readonly string[];
  readonly description?: string;
  readonly lineage?: ModelLineage;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly hyperparameters?: JsonObject;
  readonly classes?: readonly string[];
  readonly inputShape?: readonly number[];
  readonly backend?: string;
  /** Timestamp written in the card; default now. */
  readonly now?: Date;
}

export interface RegisteredModel {
  readonly name: string;
  readonly version: number;
  /** `registry://name@version`. */
  readonly uri: string;
  /** Where the files are: `s3://…/models/<name>/<version>/model.json`. */
  readonly modelUri: string;
  readonly card: ModelCard;
  readonly aliases: Aliases;
}

/** Copy a model into the registry as the next version, write its card, and move the given aliases to it. */
export async function registerModel(store: ObjectStore, options: RegisterModelOptions): Promise<RegisteredModel> {
  checkName(options.name);
  for (const alias of options.aliases ?? []) checkAlias(alias);
  await store.ensureBucket(options.bucket);
  const sourceJsonUri = modelJsonUri(options.modelUri);
  parseS3Uri(sourceJsonUri);
  const modelJson = await store.getJson<{ weightsManifest?: { paths: string[] }[] }>(sourceJsonUri);
  const sourceDirectory = sourceJsonUri.slice(0, sourceJsonUri.lastIndexOf('/'));

  const existing = await listVersions(store, options.bucket, options.name);
  const version = (existing[existing.length - 1] ?? 0) + 1;
  const target = versionPrefix(options.bucket, options.name, version);
  if (await store.stat(joinUri(target, 'card.json'))) {
    throw new InvalidInputError(`model ${options.name} version ${version} was registered concurrently; retry`, { name: options.name, version });
  }
  // Copy weights first and the card last: a version exists once its card does.
  const paths = (modelJson.weightsManifest ?? []).flatMap((group) => group.paths);
  const weights = await Promise.all(paths.map((relative) => store.getBytes(joinUri(sourceDirectory, relative))));
  const merged = Buffer.concat(weights);
  await store.putBytes(joinUri(target, WEIGHTS_BIN), merged, { contentType: 'application/octet-stream' });
  const specs = (modelJson.weightsManifest ?? []).flatMap((group) => (group as { weights?: unknown[] }).weights ?? []);
  await store.putJson(joinUri(target, MODEL_JSON), { ...modelJson, weightsManifest: [{ paths: [WEIGHTS_BIN], weights: specs }] });
  const card: ModelCard = {
    name: options.name,
    version,
    createdAt: (options.now ?? new Date()).toISOString(),
    ...(options.description ? { description: options.description } : {}),
    source: options.modelUri,
    lineage: options.lineage ?? {},
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.hyperparameters ? { hyperparameters: options.hyperparameters } : {}),
    ...(options.classes ? { classes: options.classes } : {}),
    ...(options.inputShape ? { inputShape: options.inputShape } : {}),
    ...(options.backend ? { backend: options.backend } : {}),
  };
  await store.putJson(joinUri(target, 'card.json'), card);
  let aliases = await readAliases(store, options.bucket, options.name);
  if (options.aliases && options.aliases.length > 0) {
    aliases = { ...aliases, ...Object.fromEntries(options.aliases.map((alias) => [alias, version])) };
    await store.putJson(joinUri(modelPrefix(options.bucket, options.name), 'aliases.json'), aliases);
  }
  return { name: options.name, version, uri: `registry://${options.name}@${version}`, modelUri: joinUri(target, MODEL_JSON), card, aliases };
}

export interface ModelSummary {
  readonly name: string;
  readonly versions: number;
  readonly latest: number;
  readonly aliases: Aliases;
  readonly latestCreatedAt?: string;
}

export async function listModels(store: ObjectStore, bucket: string): Promise<ModelSummary[]> {
  const names = new Set<string>();
  for (const info of await store.list(uriOf(bucket, 'models/'))) {
    const match = /^models\/([^/]+)\/\d+\/card\.json$/.exec(info.key);
    if (match?.[1]) names.add(match[1]);
  }
  const summaries: ModelSummary[] = [];
  for (const name of [...names].sort()) {
    const versions = await listVersions(store, bucket, name);
    const latest = versions[versions.length - 1] as number;
    const card = await store.getJson<ModelCard>(joinUri(versionPrefix(bucket, name, latest), 'card.json'));
    summaries.push({ name, versions: versions.length, latest, aliases: await readAliases(store, bucket, name), latestCreatedAt: card.createdAt });
  }
  return summaries;
}

export interface ModelDetails {
  readonly name: string;
  readonly aliases: Aliases;
  /** Cards of every version, ascending. */
  readonly versions: readonly ModelCard[];
}

export async function showModel(store: ObjectStore, bucket: string, name: string): Promise<ModelDetails> {
  checkName(name);
  const versions = await listVersions(store, bucket, name);
  if (versions.length === 0) throw new InvalidInputError(`model ${name} is not in the registry (s3://${bucket}/models/)`, { name });
  const cards = await Promise.all(versions.map((version) => store.getJson<ModelCard>(joinUri(versionPrefix(bucket, name, version), 'card.json'))));
  return { name, aliases: await readAliases(store, bucket, name), versions: cards };
}

export interface PromoteResult {
  readonly name: string;
  readonly alias: string;
  readonly version: number;
  /** The version the alias pointed at before, if any. */
  readonly previous?: number;
}

/** Point `alias` at `version` (a number, another alias, or `latest`). */
export async function promoteModel(store: ObjectStore, bucket: string, name: string, selector: string | number, alias: string): Promise<PromoteResult> {
  checkName(name);
  checkAlias(alias);
  const version = await resolveVersion(store, bucket, { name, selector: String(selector) });
  const aliases = await readAliases(store, bucket, name);
  const previous = aliases[alias];
  await store.putJson(joinUri(modelPrefix(bucket, name), 'aliases.json'), { ...aliases, [alias]: version });
  return { name, alias, version, ...(previous !== undefined ? { previous } : {}) };
}
