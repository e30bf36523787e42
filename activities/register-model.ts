/**
 * Stage `register-model`: copies a model into the registry (s3://<bucket>/models/<name>/<version>/)
 * as the next version, with a model card that records its lineage (run, stage, dataset, base
 * model), metrics and hyperparameters, and moves the given aliases (e.g. `champion`) to it.
 *
 * Lineage comes from the `training.json` that `fine-tune` writes next to every model it trains,
 * plus the `lineage` input. A retry after a registration that succeeded but was not reported
 * (worker lost) finds the version this run already registered instead of adding another one.
 */
import { InternalError, InvalidInputError, NotFoundError } from '../src/core/errors';
import { readTrainingRecord, type TrainingRecord } from './fine-tune';
import { modelJsonUri } from '../src/ml/models/model-io';
import {
  promoteModel,
  registerModel,
  resolveModelUri,
  showModel,
  type ModelCard,
  type ModelLineage,
} from '../src/ml/models/registry';
import type { JsonValue } from '../src/core/spec/plan-types';
import { parseRecordedEvaluations } from '../src/core/run/register-evaluations';
import type { ObjectStore } from '../src/storage/object-store';
import type { StageActivityInput, StageActivityResult } from '../src/core/run/run-types';
import type { StageImplementation, StageRuntime } from './stage-runner';
import type { StageInputValues } from '../src/sdk/stage-io.generated';
import { checkStageInputs, listArtifacts } from './ml-stage-support';

/** `latest` always names the newest version; it is implicit and never stored as an alias. */
const IMPLICIT_ALIAS = 'latest';

/** Numeric leaves of a metrics object as `a.b.c` → number (the card keeps numbers only; matrices are skipped). */
export function flattenMetrics(
  value: JsonValue,
  prefix = '',
  out: Record<string, number> = {},
): Record<string, number> {
  if (typeof value === 'number' && Number.isFinite(value)) {
    if (prefix !== '') out[prefix] = value;
  } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, item] of Object.entries(value))
      flattenMetrics(item, prefix === '' ? key : `${prefix}.${key}`, out);
  }
  return out;
}

/** The `register-model` stage's inputs as its implementation reads them (checked, defaults filled in). */
type RegisterModelInputs = StageInputValues['register-model'];

function aliasesOf(alias: RegisterModelInputs['alias']): string[] {
  if (alias === undefined) return [];
  return typeof alias === 'string' ? [alias] : [...alias];
}

/** The version this run and stage registered already (an earlier attempt), if any. */
async function alreadyRegistered(
  store: ObjectStore,
  bucket: string,
  name: string,
  runId: string,
  stageId: string,
  source: string,
): Promise<ModelCard | undefined> {
  let cards: readonly ModelCard[];
  try {
    cards = (await showModel(store, bucket, name)).versions;
  } catch (error) {
    if (error instanceof NotFoundError) return undefined; // the name is not registered yet
    throw error;
  }
  return cards.find((card) => card.lineage.runId === runId && card.lineage.stage === stageId && card.source === source);
}

export const registerModelStage: StageImplementation = async (
  input: StageActivityInput,
  runtime,
): Promise<StageActivityResult> => {
  const inputs = checkStageInputs('register-model', input.inputs);
  const { context } = input;
  const registry = runtime.registry;
  if (!registry)
    throw new InternalError(
      'register-model ran without the registry writer (activities/stage-runner.ts privilegedWriters)',
    );
  const { name } = inputs;
  const requestedAliases = aliasesOf(inputs.alias);
  const aliases = requestedAliases.filter((alias) => alias !== IMPLICIT_ALIAS);
  if (aliases.length < requestedAliases.length)
    runtime.log(`alias '${IMPLICIT_ALIAS}' is implicit (the newest version); not stored`);
  const sourceJson = await sourceModelJson(registry, inputs.model, context.bucket);
  runtime.heartbeat({ message: `registering ${inputs.model} as ${name}`, fraction: 0.1 });

  const { version, card, unchanged } = await registerVersion(registry, runtime, input, { inputs, aliases, sourceJson });
  const versionDirectory = modelJsonUri(
    await resolveModelUri(registry, `registry://${name}@${version}`, context.bucket),
  ).replace(/model\.json$/, '');
  const aliasNote = aliases.length ? ` (${aliases.join(', ')})` : '';
  const tagNote = Object.keys(inputs.tags ?? {}).length > 0 ? `; tags: ${JSON.stringify(inputs.tags)}` : '';
  if (unchanged) {
    // The version and its card stay what the run that registered it wrote; this run's aliases and tags apply to it.
    runtime.heartbeat({ message: `${name} unchanged, version ${version}${aliasNote}`, fraction: 1 });
    runtime.log(
      `unchanged, version ${version}: ${sourceJson} holds the same files (sha256 ${unchanged.contentSha256}) as ` +
        `registry://${name}@${version}, registered by run ${card.lineage.runId ?? '?'}; no version added; ` +
        `aliases: ${aliases.join(', ') || 'none'}${tagNote}`,
    );
  } else {
    runtime.heartbeat({ message: `registered ${name} version ${version}${aliasNote}`, fraction: 1 });
    runtime.log(
      `registered registry://${name}@${version} from ${sourceJson}; aliases: ${aliases.join(', ') || 'none'}; card ` +
        `lineage ${JSON.stringify(card.lineage)}`,
    );
  }
  return {
    outputs: { model: `registry://${name}@${version}`, version, unchanged: unchanged !== undefined },
    artifacts: await listArtifacts(registry, versionDirectory),
  };
};

/** The model.json of `model:` in the store; register-model copies within it, so nothing else will do. */
async function sourceModelJson(registry: ObjectStore, modelInput: string, bucket: string): Promise<string> {
  const source = await resolveModelUri(registry, modelInput, bucket);
  if (!source.startsWith('s3://')) {
    throw new InvalidInputError(
      `register-model copies models within the store; model ${modelInput} is not an s3:// or registry:// URI`,
      { field: 'model', uri: modelInput },
    );
  }
  const sourceJson = modelJsonUri(source);
  if (!(await registry.stat(sourceJson)))
    throw new InvalidInputError(`model ${modelInput} does not exist (${sourceJson})`, {
      field: 'model',
      uri: modelInput,
    });
  return sourceJson;
}

/** The card's lineage: what the training record says, the stage's own `lineage:`, then this run and stage. */
function lineageOf(
  training: TrainingRecord | undefined,
  extra: Readonly<Record<string, JsonValue>>,
  context: StageActivityInput['context'],
): ModelLineage & Record<string, JsonValue> {
  return {
    ...(training?.dataset ? { dataset: training.dataset } : {}),
    ...(training?.datasetVersion ? { datasetVersion: training.datasetVersion } : {}),
    ...(training?.baseModel ? { baseModel: training.baseModel } : {}),
    ...(training?.runId ? { trainedInRun: training.runId, trainedByStage: training.stageId } : {}),
    ...extra,
    runId: context.runId,
    stage: context.stageId,
  };
}

/**
 * The new version's card, or the one an earlier attempt of this stage registered from the same
 * source (a retry moves its aliases again instead of registering a second version), or, with
 * `unchanged`, the version the aliases or `latest` name whose files this model's are (a rerun that
 * registers the model it registered before adds no copy of it).
 */
async function registerVersion(
  registry: ObjectStore,
  runtime: StageRuntime,
  input: StageActivityInput,
  what: { readonly inputs: RegisterModelInputs; readonly aliases: readonly string[]; readonly sourceJson: string },
): Promise<{
  readonly version: number;
  readonly card: ModelCard;
  readonly unchanged?: { readonly contentSha256: string };
}> {
  const { context } = input;
  const { inputs, aliases, sourceJson } = what;
  const { name, description } = inputs;
  const training = await readTrainingRecord(registry, sourceJson);
  const lineage = lineageOf(training, inputs.lineage ?? {}, context);
  const metrics = { ...flattenMetrics(training?.metrics ?? {}), ...flattenMetrics(inputs.metrics ?? {}) };
  const previous = await alreadyRegistered(registry, context.bucket, name, context.runId, context.stageId, sourceJson);
  if (previous) {
    runtime.log(
      `version ${previous.version} of ${name} was registered by an earlier attempt of this stage; reusing it`,
    );
    for (const alias of aliases) await promoteModel(registry, context.bucket, name, previous.version, alias);
    return { version: previous.version, card: previous };
  }
  const registered = await registerModel(registry, {
    bucket: context.bucket,
    name,
    modelUri: sourceJson,
    aliases: [...aliases],
    ...(description ? { description } : {}),
    lineage,
    metrics,
    ...(training?.hyperparameters ? { hyperparameters: training.hyperparameters } : {}),
    ...(training?.classes ? { classes: training.classes } : {}),
    ...(training?.inputShape ? { inputShape: training.inputShape } : {}),
    ...(training?.backend ? { backend: training.backend } : {}),
    // The gate verdict outlives the run's history on the card (the run hands it over: a retry of an older run's
    // stage, or a direct call, has none, and the card then records none).
    ...(context.evaluations?.length ? { evaluations: parseRecordedEvaluations(context.evaluations) ?? [] } : {}),
    // The registry's card has no tag field: tags live beside the card, in the version's tags.json.
    ...(inputs.tags ? { tags: inputs.tags } : {}),
    unlessUnchanged: true,
  });
  return {
    version: registered.version,
    card: registered.card,
    ...(registered.unchanged ? { unchanged: { contentSha256: registered.contentSha256 } } : {}),
  };
}
