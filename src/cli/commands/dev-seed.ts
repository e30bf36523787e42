/**
 * `fineflow dev seed [EXAMPLE…]`: the inputs the example pipelines name, on the running stack. Each
 * s3:// input of the named examples (default: every file in pipelines/) is written from the repo's
 * seeded generators (src/examples/seed-data.ts) and pushed the way `fineflow data push` pushes, so the
 * prefix holds a sealed dataset version. A prefix that already has a version holding the input is
 * left alone. Then the registry:// base models the examples start from are checked, and the missing
 * ones named with the pipeline that registers them, in the order to submit.
 * Bounded: only files in pipelines/, only URIs of the seeder's catalogue (all in the datasets bucket).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as ConfigModule from '../../config';
import type * as VersionStoreModule from '../../datasets/version-store';
import type * as ExampleInputsModule from '../../examples/example-inputs';
import type * as LoadExamplesModule from '../../examples/load-examples';
import type * as SeedDataModule from '../../examples/seed-data';
import type * as RegistryModule from '../../ml/models/registry';
import type * as MinioStoreModule from '../../storage/minio-store';
import type * as BucketGuardModule from '../../storage/bucket-guard';
import type * as TemporalConnectionModule from '../../client/temporal-connection';
import type * as WorkerPresenceModule from '../../client/worker-presence';
import type { ExampleInputs } from '../../examples/example-inputs';
import { packageFile, PACKAGE_ROOT } from '../../package-paths';
import type { ObjectStore } from '../../storage/object-store';
import { InvalidInputError } from '../../core/errors';
import { parseS3Uri } from '../../core/storage/uri';
import { EXIT, type CliIo } from '../command';
import { pushDirectory } from './data';

/** Loaded when `dev seed` runs, not when `--help` lists the command. */
function load() {
  /* eslint-disable @typescript-eslint/no-require-imports */
  return {
    ...(require('../../config') as typeof ConfigModule),
    ...(require('../../datasets/version-store') as typeof VersionStoreModule),
    ...(require('../../examples/example-inputs') as typeof ExampleInputsModule),
    ...(require('../../examples/load-examples') as typeof LoadExamplesModule),
    ...(require('../../examples/seed-data') as typeof SeedDataModule),
    ...(require('../../ml/models/registry') as typeof RegistryModule),
    ...(require('../../storage/minio-store') as typeof MinioStoreModule),
    ...(require('../../storage/bucket-guard') as typeof BucketGuardModule),
    ...(require('../../client/temporal-connection') as typeof TemporalConnectionModule),
    ...(require('../../client/worker-presence') as typeof WorkerPresenceModule),
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/** What happened to one input. */
export interface SeededInput {
  readonly uri: string;
  readonly examples: readonly string[];
  readonly status: 'pushed' | 'present';
  /** The dataset version the prefix holds (the pushed one, or the newest holding the input). */
  readonly version: string;
  readonly prefix: string;
}

/** A base model an example starts from. */
export interface NeededModel {
  readonly name: string;
  readonly examples: readonly string[];
  /** Versions in the registry now (empty: missing). */
  readonly versions: readonly number[];
  /** The pipelines that register it from scratch (empty: none in pipelines/). */
  readonly producers: readonly string[];
}

export interface SeedReport {
  /** Every example in pipelines/ (the producers of models come from all of them). */
  readonly examples?: readonly ExampleInputs[];
  /** The examples asked for (all when none was named). */
  readonly requested?: readonly string[];
  readonly inputs: readonly SeededInput[];
  readonly models: readonly NeededModel[];
  /** The examples asked for and the producers of their missing models, in the order to submit them. */
  readonly submitOrder: readonly string[];
}

/** The newest version of `prefix` that holds `key` (or anything, for a whole prefix). */
async function versionHolding(
  store: ObjectStore,
  bucket: string,
  prefix: string,
  key: string | undefined,
): Promise<string | undefined> {
  const { listDatasetVersions } = load();
  const versions = await listDatasetVersions(store, bucket, prefix);
  const holding = versions.filter((v) => v.count > 0 && (!key || v.objects.some((o) => o.key === key)));
  return holding.at(-1)?.id;
}

/** Seeds the inputs of `requested` examples (all when empty) and checks their base models. */
export async function seedExamples(
  requested: readonly string[],
  io: CliIo,
  say: (line: string) => void,
  /**
   * Push even where a version holds the input: what this Fineflow's generators write replaces what an older one wrote
   * (a whole seeded prefix is mirrored, so files an older generator wrote and this one does not are deleted; a seeded
   * single file is written over, its prefix's other objects kept).
   */
  refresh = false,
): Promise<SeedReport> {
  const m = load();
  const { all, wanted } = m.loadExamples(requested);
  // The pipelines that register the wanted examples' base models need their data too (pretrain-digits reads mnist/).
  const withProducers = m.submitOrder(wanted, all).flatMap((file) => all.filter((example) => example.file === file));
  const config = m.loadConfig(io.env);
  const store = m.createObjectStoreFromConfig(config);
  const bucket = config.s3.bucket;
  const missing = m.unseedableInputs(withProducers, (uri) => m.seedDataFor(uri) !== undefined);
  if (missing.length > 0)
    throw new InvalidInputError(
      `no seeded data for ${missing.join(', ')}: add it to src/examples/seed-data.ts, or push your own with ` +
        '`fineflow data push DIR URI`',
      { code: 'unseedable-input' },
    );
  const usersOf = new Map<string, string[]>();
  for (const example of withProducers)
    for (const uri of example.data) usersOf.set(uri, [...(usersOf.get(uri) ?? []), example.file]);
  const inputs: SeededInput[] = [];
  for (const [uri, examples] of [...usersOf].sort(([a], [b]) => a.localeCompare(b))) {
    const seed = m.seedDataFor(uri);
    if (!seed) continue; // checked above
    const present = await versionHolding(store, bucket, seed.prefix, seed.key);
    if (present && !refresh) {
      say(
        `${uri}: already has version ${present.slice(0, 12)}, left alone ` +
          "(`fineflow dev seed --refresh` pushes this Fineflow's seeded data over it)",
      );
      inputs.push({ uri, examples, status: 'present', version: present, prefix: seed.prefix });
      continue;
    }
    const directory = await mkdtemp(path.join(tmpdir(), 'fineflow-seed-'));
    try {
      const written = await seed.write(directory);
      say(`${uri}: pushing ${seed.description} (${written} files) to ${seed.prefix}`);
      const creation = m.bucketCreation(parseS3Uri(seed.prefix).bucket, config.s3, seed.prefix);
      const pushed = await pushDirectory(store, bucket, directory, seed.prefix, () => undefined, creation, undefined, {
        deleteOthers: refresh && seed.key === undefined,
      });
      const same = present === pushed.version ? ', the same as before' : '';
      const deleted =
        pushed.deleted.length > 0 ? `; deleted ${pushed.deleted.length} the generator no longer writes` : '';
      say(`${uri}: version ${pushed.version.slice(0, 12)} (${pushed.objects} objects${same}${deleted})`);
      inputs.push({ uri, examples, status: 'pushed', version: pushed.version, prefix: pushed.prefix });
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }
  const models: NeededModel[] = [];
  const modelUsers = new Map<string, string[]>();
  for (const example of wanted)
    for (const name of example.models) modelUsers.set(name, [...(modelUsers.get(name) ?? []), example.file]);
  for (const [name, examples] of [...modelUsers].sort(([a], [b]) => a.localeCompare(b))) {
    const versions = await m.listVersions(store, bucket, name);
    models.push({ name, examples, versions, producers: m.producersOf(name, all) });
  }
  const missingModels = new Set(models.filter((model) => model.versions.length === 0).map((model) => model.name));
  // Producers of registered models need not run again: keep the examples asked for and producers of missing models.
  const asked = new Set(wanted.map((example) => example.file));
  const producing = new Set(
    models.filter((model) => missingModels.has(model.name)).flatMap((model) => model.producers.slice(0, 1)),
  );
  const order = m.submitOrder(wanted, all).filter((file) => asked.has(file) || producing.has(file));
  return { examples: all, requested: [...asked], inputs, models, submitOrder: order };
}

/** The report as text: the models, then the submit order. */
export function seedReportText(report: SeedReport): string {
  const lines: string[] = [];
  const pushed = report.inputs.filter((input) => input.status === 'pushed').length;
  lines.push(`data: ${pushed} pushed, ${report.inputs.length - pushed} already there`);
  for (const model of report.models) {
    const users = model.examples.map((file) => path.basename(file)).join(', ');
    if (model.versions.length > 0)
      lines.push(`model ${model.name}: in the registry (versions ${model.versions.join(', ')}), for ${users}`);
    else if (model.producers[0])
      lines.push(
        `model ${model.name}: missing, for ${users}; \`fineflow submit ${model.producers[0]} --watch\` registers it`,
      );
    else
      lines.push(
        `model ${model.name}: missing, for ${users}; no pipeline in pipelines/ registers it without starting ` +
          'from it (select-model goes on without a missing candidate only when another one fits the data)',
      );
  }
  if (report.submitOrder.length > 0) {
    lines.push('', 'Submit in this order (base models first):');
    for (const file of report.submitOrder) lines.push(`  fineflow submit ${file} --watch`);
  }
  return `${lines.join('\n')}\n`;
}

/** `fineflow submit FILE --watch` as a user types it, its output passed on, indented; resolves to its exit code. */
function submitAndWatch(
  file: string,
  io: CliIo,
  out: NodeJS.WritableStream,
): Promise<{ code: number; runId?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [packageFile('bin', 'fineflow.js'), 'submit', file, '--watch'], {
      cwd: PACKAGE_ROOT,
      env: io.env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let runId: string | undefined;
    let lineStart = true;
    const pass = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      runId ??= /started run (\S+)/.exec(text)?.[1];
      out.write(`${lineStart ? '    ' : ''}${text.replace(/\n(?=.)/g, '\n    ')}`);
      lineStart = text.endsWith('\n');
    };
    child.stdout.on('data', pass);
    child.stderr.on('data', pass);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, ...(runId ? { runId } : {}) }));
  });
}

/**
 * `--with-models`: submits the pipelines that register the missing base models (pretrain first), each
 * watched to its end, after checking that every pool they use has a worker (a run with none would wait
 * forever). Resolves to the versions of each model registered.
 */
async function registerMissingModels(
  report: SeedReport,
  io: CliIo,
  out: NodeJS.WritableStream,
  say: (line: string) => void,
): Promise<Map<string, number[]>> {
  const m = load();
  const missing = report.models.filter((model) => model.versions.length === 0 && model.producers[0]);
  const producers = new Set(missing.map((model) => model.producers[0] as string));
  const toRun = report.submitOrder.filter((file) => producers.has(file));
  if (toRun.length === 0) {
    say('models: none missing that a pipeline in pipelines/ registers');
    return new Map();
  }
  const byFile = new Map((report.examples ?? []).map((example) => [example.file, example]));
  const pools = [...new Set(toRun.flatMap((file) => byFile.get(file)?.pools ?? ['control']))].sort();
  const config = m.loadConfig(io.env);
  const client = await m.connectClient(config.temporal);
  const absent: string[] = [];
  try {
    for (const pool of pools) if (!(await m.poolHasWorker(client, pool))) absent.push(pool);
  } finally {
    await client.connection.close();
  }
  if (absent.length > 0)
    throw new InvalidInputError(
      `--with-models submits ${toRun.join(', ')}, whose stages run on pools ${pools.join(', ')}, and no worker ` +
        `polls ${absent.join(', ')}: start ${absent.map((pool) => `\`fineflow worker --pool ${pool}\``).join(', ')} ` +
        '(each in its own shell), then run `fineflow dev seed --with-models` again (the data is left as it is)',
      { code: 'no-worker', pools: absent },
    );
  const store = m.createObjectStoreFromConfig(config);
  const registered = new Map<string, number[]>();
  for (const [index, file] of toRun.entries()) {
    const names = missing.filter((model) => model.producers[0] === file).map((model) => model.name);
    say(`[${index + 1}/${toRun.length}] fineflow submit ${file} --watch (registers ${names.join(', ')})`);
    const started = Date.now();
    const run = await submitAndWatch(file, io, out);
    const seen = run.runId
      ? `see \`fineflow status ${run.runId}\` and \`fineflow logs ${run.runId}\``
      : 'no run started';
    if (run.code !== 0)
      throw new InvalidInputError(`${file} did not succeed (exit ${run.code}): ${seen}`, { code: 'run-failed' });
    for (const name of names) {
      const versions = await m.listVersions(store, config.s3.bucket, name);
      if (versions.length === 0)
        throw new InvalidInputError(`${file} succeeded but did not register ${name} (its gate failed?): ${seen}`, {
          code: 'not-registered',
        });
      const seconds = Math.round((Date.now() - started) / 1000);
      say(`model ${name}: registered (versions ${versions.join(', ')}) after ${seconds} s`);
      registered.set(name, versions);
    }
  }
  return registered;
}

/**
 * `dev seed [EXAMPLE…] [--with-models] [--refresh]`: progress on stderr (or stdout without --json), the report on
 * stdout.
 */
export async function devSeedCommand(
  requested: readonly string[],
  io: CliIo,
  options: { readonly json: boolean; readonly withModels: boolean; readonly refresh?: boolean },
): Promise<number> {
  const out = options.json ? io.stderr : io.stdout;
  const say = (line: string): void => void out.write(`${line}\n`);
  let report = await seedExamples(requested, io, say, options.refresh === true);
  if (options.withModels) {
    const registered = await registerMissingModels(report, io, out, say);
    // The pipelines just run need not be submitted again, unless they were asked for.
    const ran = new Set(
      report.models.filter((model) => registered.has(model.name)).flatMap((model) => model.producers.slice(0, 1)),
    );
    report = {
      ...report,
      submitOrder: report.submitOrder.filter((file) => !ran.has(file) || report.requested?.includes(file)),
      models: report.models.map((model) => ({ ...model, versions: registered.get(model.name) ?? model.versions })),
    };
  }
  const { examples: _examples, requested: _requested, ...shown } = report;
  if (options.json) io.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
  else io.stdout.write(seedReportText(shown));
  return EXIT.ok;
}
