/**
 * `fineflow models list | show NAME[@VERSION|@ALIAS] | promote NAME VERSION --alias A |
 * export MODEL --format tfjs|keras|savedmodel --output DIR`: the model registry in the object store
 * (s3://<FINEFLOW_BUCKET>/models/), as register-model writes it, and models as files other runtimes load.
 */
import type * as TextTableModule from '../../client/text-table';
import type * as RenderModule from '../../client/render';
import type * as ConfigModule from '../../config';
import { NotFoundError } from '../../core/errors';
import type * as RegistryModule from '../../ml/models/registry';
import type { ModelCard, ModelDetails } from '../../ml/models/registry';
import type * as MinioStoreModule from '../../storage/minio-store';
import path from 'node:path';
import type * as BackendModule from '../../ml/backend';
import type * as ExportModule from '../../ml/models/export-model';
import type * as ExportPythonModule from '../../ml/models/export-python';
import type * as PredictorModule from '../../ml/predict/predictor';
import type * as OutboundModule from '../../security/outbound';
import type { ObjectStore } from '../../storage/object-store';
import { EXIT, UsageError, subcommandError, type CliCommand, type CliIo } from '../command';

/** What the command needs to run, loaded then rather than when `--help` or completion lists it. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const m0 = require('../../config') as typeof ConfigModule;
  const m1 = require('../../ml/models/registry') as typeof RegistryModule;
  const m2 = require('../../storage/minio-store') as typeof MinioStoreModule;
  const mt = require('../../client/text-table') as typeof TextTableModule;
  const mr = require('../../client/render') as typeof RenderModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    renderTable: mt.renderTable,
    formatUtcTime: mr.formatUtcTime,
    loadConfig: m0.loadConfig,
    listModels: m1.listModels,
    parseRegistryUri: m1.parseRegistryUri,
    promoteModel: m1.promoteModel,
    readVersionTags: m1.readVersionTags,
    resolveVersion: m1.resolveVersion,
    showModel: m1.showModel,
    createObjectStoreFromConfig: m2.createObjectStoreFromConfig,
  };
}

/** Rows whose first row is the header, through the CLI's one table renderer. */
function table(rows: readonly (readonly string[])[]): string {
  const [titles = [], ...body] = rows;
  return load()
    .renderTable(
      titles.map((title) => ({ title })),
      body,
    )
    .join('\n');
}

/** `    key   value` lines of a model card section. */
function keyValues(pairs: readonly (readonly [string, string])[]): string[] {
  const columns = [{ title: '' }, { title: '', separator: '    ' }, { title: '', separator: ' ' }];
  return load().renderTable(
    columns,
    pairs.map(([key, value]) => ['', key, value]),
    { header: false },
  );
}

function aliasesOf(details: { readonly aliases: Readonly<Record<string, number>> }, version: number): string[] {
  return Object.entries(details.aliases)
    .filter(([, v]) => v === version)
    .map(([alias]) => alias)
    .sort();
}

function headlineMetric(card: ModelCard): string {
  const metrics = card.metrics ?? {};
  const accuracy = metrics.accuracy ?? metrics['test.accuracy'] ?? metrics['validation.accuracy'];
  return accuracy === undefined ? '' : `accuracy ${accuracy.toFixed(3)}`;
}

/** `models show NAME@VERSION`'s text: the version's card, its aliases and its tags (tags.json). */
export function renderCard(
  card: ModelCard,
  aliases: readonly string[],
  tags: Readonly<Record<string, string>> = {},
): string {
  const lines = [
    `${card.name} version ${card.version}${aliases.length ? ` (${aliases.join(', ')})` : ''}`,
    `  created     ${load().formatUtcTime(card.createdAt)}`,
  ];
  if (card.description) lines.push(`  description ${card.description}`);
  lines.push(`  source      ${card.source}`);
  if (card.backend) lines.push(`  backend     ${card.backend}`);
  if (card.classes) lines.push(`  classes     ${card.classes.join(', ')}`);
  if (card.inputShape) lines.push(`  input shape [${card.inputShape.join(', ')}]`);
  const lineage = Object.entries(card.lineage);
  if (lineage.length)
    lines.push(
      '  lineage',
      ...keyValues(lineage.map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)])),
    );
  const metrics = Object.entries(card.metrics ?? {});
  if (metrics.length)
    lines.push('  metrics', ...keyValues(metrics.map(([key, value]) => [key, String(Number(value.toPrecision(4)))])));
  if (card.hyperparameters && Object.keys(card.hyperparameters).length)
    lines.push(`  hyperparameters ${JSON.stringify(card.hyperparameters)}`);
  const tagPairs = Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (tagPairs.length) lines.push('  tags', ...keyValues(tagPairs));
  return lines.join('\n');
}

export function renderVersions(details: ModelDetails): string {
  const { formatUtcTime } = load();
  const rows = [['VERSION', 'ALIASES', 'CREATED', 'METRIC', 'RUN']];
  for (const card of details.versions) {
    rows.push([
      String(card.version),
      aliasesOf(details, card.version).join(',') || '-',
      formatUtcTime(card.createdAt),
      headlineMetric(card) || '-',
      card.lineage.runId ?? '-',
    ]);
  }
  return table(rows);
}

async function exportCommand(io: CliIo, target: string, format: string, output: string): Promise<number> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const exporter = require('../../ml/models/export-model') as typeof ExportModule;
  const { exportPython } = require('../../ml/models/export-python') as typeof ExportPythonModule;
  const { loadTf } = require('../../ml/backend') as typeof BackendModule;
  const { loadPredictor } = require('../../ml/predict/predictor') as typeof PredictorModule;
  const { createOutboundPolicy } = require('../../security/outbound') as typeof OutboundModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  if (!(exporter.EXPORT_FORMATS as readonly string[]).includes(format))
    throw new UsageError(
      format === ''
        ? `export needs --format ${exporter.EXPORT_FORMATS.join('|')}`
        : `--format ${JSON.stringify(format.slice(0, 40))} is not an export format: ` +
            `use ${exporter.EXPORT_FORMATS.join(', ')}`,
    );
  const config = load().loadConfig(io.env);
  // Before loading anything: a Keras format without a Python is a setup step away, say which.
  const python = format === 'tfjs' ? {} : exportPython(config.export);
  if (python.missing) {
    io.stderr.write(`fineflow models: ${python.missing}\n`);
    return EXIT.unavailable;
  }
  return withStore(io, async (store, bucket) => {
    const { tf } = loadTf({ preference: config.tfBackend });
    const outbound = createOutboundPolicy(config.outbound);
    const predictor = await loadPredictor(tf, store, target, { registryBucket: bucket, outbound });
    // The converter runs in its own process group, out of the terminal's reach: Ctrl-C stops it here.
    const interrupted = new AbortController();
    const interrupt = (): void => interrupted.abort();
    process.once('SIGINT', interrupt).once('SIGTERM', interrupt);
    try {
      const directory = path.resolve(io.cwd, output);
      const record = await exporter.exportModel(predictor, format as ExportModule.ExportFormat, directory, {
        ...(python.python ? { python: python.python } : {}),
        signal: interrupted.signal,
      });
      const check = record.verification
        ? ` (reloaded by Keras ${record.verification.keras}: probabilities within ` +
          `${record.verification.maxAbsDifference.toExponential(1)} of Fineflow's on ${record.verification.probeExamples} probe inputs)`
        : '';
      io.stdout.write(
        `exported ${record.model} (${record.resolved}) as ${format} to ${directory}${check}: ` +
          `${topLevelOf(Object.keys(record.files))}, ${exporter.EXPORT_RECORD_FILE}\n`,
      );
    } finally {
      process.off('SIGINT', interrupt).off('SIGTERM', interrupt);
      predictor.model.dispose();
    }
    return EXIT.ok;
  });
}

/** `model.keras, preprocessing.json` or `savedmodel/, preprocessing.json`: the top level of an export. */
function topLevelOf(files: readonly string[]): string {
  return [...new Set(files.map((file) => (file.includes('/') ? `${file.split('/')[0]}/` : file)))].join(', ');
}

async function withStore(io: CliIo, work: (store: ObjectStore, bucket: string) => Promise<number>): Promise<number> {
  const { loadConfig, createObjectStoreFromConfig } = load();
  const config = loadConfig(io.env);
  const store = createObjectStoreFromConfig(config);
  return work(store, config.s3.bucket);
}

export const command: CliCommand = {
  name: 'models',
  summary: 'list registered models, show a model card, move an alias, or export a model for other runtimes',
  usage:
    'models list | models show NAME[@VERSION|@ALIAS] | models promote NAME VERSION --alias A | models export MODEL ' +
    '--format tfjs|keras|savedmodel --output DIR',
  description: `list     every registered model: versions, latest, aliases.
show     every version of NAME; with @VERSION or @ALIAS, that version's model card (lineage,
         metrics, hyperparameters, backend) and its tags.
promote  point alias A (e.g. champion) at VERSION (a number, another alias, or latest).
export   write MODEL (NAME@VERSION|ALIAS, registry://…, or s3://…/model.json) into the new or empty
         directory DIR, with its preprocessing.json (column order, scaling, vocabularies, image size
         and channels, classes: apply it to raw inputs first, docs/preprocessing.md) and export.json
         (sha256 of every file). --format:
           tfjs        model.json + weights.bin, for tf.loadLayersModel (TensorFlow.js)
           keras       model.keras, for keras.models.load_model (Keras 3)
           savedmodel  savedmodel/, for tf.saved_model.load (endpoint serve), TensorFlow Serving
         keras and savedmodel are written by Keras in a Python with TensorFlow 2.16+
         (FINEFLOW_EXPORT_PYTHON, or the venv infra/keras/setup-venv.sh creates once), reloaded,
         and checked to predict what Fineflow predicts on a probe batch (export.json: verification).
The registry lives in s3://<FINEFLOW_BUCKET>/models/; register-model stages write it.
Exit codes: 0 ok, 1 no such model / version / alias or a refused export, 2 usage, 3 MinIO unreachable or
no Python with TensorFlow for keras|savedmodel.`,
  subcommands: ['list', 'show', 'promote', 'export'],
  examples: [
    { command: 'fineflow models list', explanation: 'every registered model: versions, latest, aliases' },
    { command: 'fineflow models show surface-defects@champion', explanation: 'the model card of the champion' },
    {
      command: 'fineflow models promote surface-defects 3 --alias champion',
      explanation: 'point the champion alias at version 3',
    },
    {
      command: 'fineflow models export surface-defects@champion --format tfjs --output ./defects-tfjs',
      explanation: 'the champion as a TensorFlow.js model, with its preprocessing.json',
    },
    {
      command: 'fineflow models export surface-defects@3 --format keras --output ./defects-keras',
      explanation: 'version 3 as model.keras for keras.models.load_model',
    },
    {
      command: 'fineflow models export churn-mlp@champion --format savedmodel -o ./churn-savedmodel',
      explanation: 'a TensorFlow SavedModel (savedmodel/) for tf.saved_model.load or TensorFlow Serving',
    },
  ],
  json: true,
  options: [
    { name: 'alias', short: 'a', kind: 'string', valueName: 'A', description: 'alias to move (promote)' },
    {
      name: 'format',
      kind: 'string',
      valueName: 'tfjs|keras|savedmodel',
      description: 'export format',
    },
    { name: 'output', short: 'o', kind: 'string', valueName: 'DIR', description: 'export directory (new or empty)' },
  ],
  async run(args, io) {
    const { listModels, parseRegistryUri, promoteModel, readVersionTags, resolveVersion, showModel } = load();
    const [sub, ...rest] = args.positionals;
    const json = args.flags.json === true;
    if (sub === 'list') {
      if (rest.length > 0) throw new UsageError('list takes no arguments');
      return withStore(io, async (store, bucket) => {
        const models = await listModels(store, bucket);
        if (json) io.stdout.write(`${JSON.stringify(models, null, 2)}\n`);
        else if (models.length === 0)
          io.stdout.write(`no models in s3://${bucket}/models/ yet (a register-model stage adds them)\n`);
        else {
          const rows = [['NAME', 'VERSIONS', 'LATEST', 'ALIASES', 'UPDATED']];
          for (const m of models) {
            const aliases = Object.entries(m.aliases).map(([alias, version]) => `${alias}=${version}`);
            rows.push([
              m.name,
              String(m.versions),
              String(m.latest),
              aliases.join(',') || '-',
              m.latestCreatedAt ? load().formatUtcTime(m.latestCreatedAt) : '-',
            ]);
          }
          io.stdout.write(`${table(rows)}\n`);
        }
        return EXIT.ok;
      });
    }
    if (sub === 'show') {
      const [target, extra] = rest;
      if (!target || extra !== undefined) throw new UsageError('show takes one NAME or NAME@VERSION');
      return withStore(io, async (store, bucket) => {
        const reference = parseRegistryUri(`registry://${target}`);
        const details = await showModel(store, bucket, reference.name);
        if (!target.includes('@')) {
          io.stdout.write(
            json ? `${JSON.stringify(details, null, 2)}\n` : `${details.name}\n${renderVersions(details)}\n`,
          );
          return EXIT.ok;
        }
        const version = await resolveVersion(store, bucket, reference);
        const card = details.versions.find((c) => c.version === version);
        if (!card)
          throw new NotFoundError(`model ${reference.name} has no card for version ${version}`, {
            name: reference.name,
          });
        const aliases = aliasesOf(details, version);
        const tags = await readVersionTags(store, bucket, reference.name, version);
        io.stdout.write(
          json ? `${JSON.stringify({ ...card, aliases, tags }, null, 2)}\n` : `${renderCard(card, aliases, tags)}\n`,
        );
        return EXIT.ok;
      });
    }
    if (sub === 'promote') {
      const [name, version, extra] = rest;
      const alias = args.values.alias;
      if (!name || !version || extra !== undefined) throw new UsageError('promote takes NAME and VERSION');
      if (!alias) throw new UsageError('promote needs --alias A (e.g. --alias champion)');
      return withStore(io, async (store, bucket) => {
        const result = await promoteModel(store, bucket, name, version, alias);
        if (json) io.stdout.write(`${JSON.stringify(result)}\n`);
        else {
          const from = result.previous === undefined ? '' : ` (was version ${result.previous})`;
          io.stdout.write(`${result.name}@${result.alias} → version ${result.version}${from}\n`);
        }
        return EXIT.ok;
      });
    }
    if (sub === 'export') {
      const [target, extra] = rest;
      const { format, output } = args.values;
      if (!target || extra !== undefined) throw new UsageError('export takes one MODEL');
      if (!output) throw new UsageError('export needs --output DIR (a new or empty directory)');
      return exportCommand(io, target, format ?? '', output);
    }
    throw subcommandError(sub, command.subcommands ?? []);
  },
};
