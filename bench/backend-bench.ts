/**
 * Training throughput of the reference models through Fineflow's own training loop
 * (src/ml/train/loop.ts, what the fine-tune stage runs) on each way it can execute, against
 * Keras in Python on the same TensorFlow release from PyPI (`keras`, model.fit):
 *   - `native`: libtensorflow, graph engine (one TensorFlow session call per training step);
 *   - `native-eager`: libtensorflow through tfjs-node's eager ops (the engine before the graph one);
 *   - `pure-js`: tfjs's pure-JS backend (eager).
 * Each run is a child process, one at a time, with the same batch size, thread count, optimizer
 * (Adam 1e-3) and model. Prints a table with ratios and the achieved GFLOP/s against an estimate
 * of the machine's peak.
 *
 *   node --import tsx bench/backend-bench.ts            # whole benchmark
 *   benchBackends()                                      # the same, from bench/bench.ts
 */
import { execFile } from 'node:child_process';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadTf, type Tf } from '../src/ml/backend';
import { memorySource, runTrainingLoop } from '../src/ml/train/loop';
import { guardSectionArgs } from './bench-flags';

export type BenchModelName = 'mlp' | 'cnn';
export type BenchBackendName = 'native' | 'native-eager' | 'pure-js' | 'keras';

/** How many batches each backend trains: the pure-JS one is kept short, it is slow. */
export interface BatchPlan {
  readonly warmup: number;
  readonly timed: number;
}

export interface BenchOptions {
  /** Intra-op threads for libtensorflow (tfjs-node and Keras); inter-op is 1. */
  readonly threads: number;
  readonly batchSize: Readonly<Record<BenchModelName, number>>;
  readonly batches: Readonly<Record<BenchBackendName, Readonly<Record<BenchModelName, BatchPlan>>>>;
  /**
   * Runs per backend and model, interleaved across backends; the best run counts. The machine is
   * shared (2 cores), so a single run can be slowed by whatever else is running.
   */
  readonly repeats: Readonly<Record<BenchBackendName, number>>;
  readonly models: readonly BenchModelName[];
  readonly backends: readonly BenchBackendName[];
  /** Python with TensorFlow; default: the venv infra/keras/setup-venv.sh creates in the cache dir. */
  readonly kerasPython?: string;
  /** Progress lines (one per run); default stderr. */
  readonly log?: (line: string) => void;
}

export const defaultBenchOptions: BenchOptions = {
  threads: 2,
  batchSize: { mlp: 128, cnn: 64 },
  batches: {
    native: { mlp: { warmup: 5, timed: 200 }, cnn: { warmup: 3, timed: 40 } },
    'native-eager': { mlp: { warmup: 5, timed: 200 }, cnn: { warmup: 3, timed: 40 } },
    keras: { mlp: { warmup: 5, timed: 200 }, cnn: { warmup: 3, timed: 40 } },
    // The pure-JS CNN trains about one sample per second: one timed batch, no warm-up.
    'pure-js': { mlp: { warmup: 1, timed: 10 }, cnn: { warmup: 0, timed: 1 } },
  },
  repeats: { native: 3, 'native-eager': 2, keras: 3, 'pure-js': 1 },
  models: ['mlp', 'cnn'],
  backends: ['native', 'native-eager', 'pure-js', 'keras'],
};

export interface ThroughputResult {
  readonly model: BenchModelName;
  readonly backend: BenchBackendName;
  readonly batchSize: number;
  readonly threads: number;
  /** Absent when the run failed; `error` says why. */
  readonly samplesPerSecond?: number;
  readonly samples?: number;
  readonly seconds?: number;
  /**
   * Samples per CPU-second (user + system, all threads). Less sensitive than samples/s to other
   * processes competing for the cores, which only stretch the wall clock.
   */
  readonly samplesPerCpuSecond?: number;
  /** Runs made; the figures are from the fastest. */
  readonly runs?: number;
  /** Training FLOPs per second, from the analytic count in {@link trainingFlopsPerSample}. */
  readonly gflops?: number;
  /** What ran: `tensorflow`/`cpu` for tfjs, the TensorFlow version for Keras. */
  readonly detail?: string;
  readonly error?: string;
}

export interface MachinePeak {
  readonly cpuModel: string;
  readonly cores: number;
  readonly ghz: number;
  /** fp32 lanes per vector instruction the core executes at full rate. */
  readonly fp32Lanes: number;
  readonly fmaUnits: number;
  /** cores × lanes × FMA units × 2 flops × GHz. */
  readonly peakGflops: number;
  readonly formula: string;
}

export interface BackendBenchReport {
  readonly options: Omit<BenchOptions, 'log'>;
  readonly machine: MachinePeak;
  readonly results: readonly ThroughputResult[];
  /** native ÷ keras and native ÷ pure-js per model, when both ran. */
  readonly ratios: Readonly<
    Record<
      BenchModelName,
      { readonly nativeVsKeras?: number; readonly nativeVsKerasPerCpuSecond?: number; readonly nativeVsPureJs?: number }
    >
  >;
  /** 1-minute load average when the benchmark started: other work on the machine skews the numbers. */
  readonly loadAverageAtStart: number;
  readonly table: string;
}

// ---------------------------------------------------------------------------------------------
// Models: kept layer for layer identical to build_model() in bench/keras/train_bench.py.

interface LayerSpec {
  readonly kind: 'dense' | 'conv' | 'pool' | 'flatten';
  readonly units?: number;
}

const modelInputs: Readonly<Record<BenchModelName, readonly number[]>> = { mlp: [64], cnn: [28, 28, 1] };
const modelLayers: Readonly<Record<BenchModelName, readonly LayerSpec[]>> = {
  mlp: [
    { kind: 'dense', units: 256 },
    { kind: 'dense', units: 256 },
    { kind: 'dense', units: 10 },
  ],
  cnn: [
    { kind: 'conv', units: 32 },
    { kind: 'pool' },
    { kind: 'conv', units: 64 },
    { kind: 'pool' },
    { kind: 'flatten' },
    { kind: 'dense', units: 128 },
    { kind: 'dense', units: 10 },
  ],
};
const CLASSES = 10;

export function buildBenchModel(tf: Tf, name: BenchModelName): ReturnType<Tf['sequential']> {
  const model = tf.sequential();
  const layers = modelLayers[name];
  layers.forEach((layer, index) => {
    const first = index === 0 ? { inputShape: [...modelInputs[name]] } : {};
    const last = index === layers.length - 1;
    const units = layer.units ?? 0;
    if (layer.kind === 'dense') model.add(tf.layers.dense({ ...first, units, activation: last ? 'softmax' : 'relu' }));
    else if (layer.kind === 'conv')
      model.add(tf.layers.conv2d({ ...first, filters: units, kernelSize: 3, activation: 'relu' }));
    else if (layer.kind === 'pool') model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    else model.add(tf.layers.flatten());
  });
  return model;
}

/**
 * Multiply-add FLOPs of one training step per sample: forward 2×MACs of the dense and conv
 * layers, backward about twice that (input and weight gradients), so ≈ 3 × forward. Pooling,
 * activations and the optimizer are left out (they are a few percent here).
 */
export function trainingFlopsPerSample(name: BenchModelName): number {
  let shape = [...modelInputs[name]];
  let forwardMacs = 0;
  for (const layer of modelLayers[name]) {
    const units = layer.units ?? 0;
    if (layer.kind === 'dense') {
      forwardMacs += (shape[0] ?? 0) * units;
      shape = [units];
    } else if (layer.kind === 'conv') {
      const [h = 0, w = 0, c = 0] = shape;
      shape = [h - 2, w - 2, units];
      forwardMacs += (h - 2) * (w - 2) * 9 * c * units;
    } else if (layer.kind === 'pool') {
      const [h = 0, w = 0, c = 0] = shape;
      shape = [Math.floor(h / 2), Math.floor(w / 2), c];
    } else {
      shape = [shape.reduce((a, b) => a * b, 1)];
    }
  }
  return 3 * 2 * forwardMacs;
}

// ---------------------------------------------------------------------------------------------
// Machine peak, from /proc/cpuinfo and lscpu.

function lscpuField(text: string, field: string): string | undefined {
  return new RegExp(`^${field}:\\s*(.+)$`, 'm').exec(text)?.[1]?.trim();
}

export async function estimateMachinePeak(cores: number): Promise<MachinePeak> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const lscpu = await run('lscpu', [], {}).then(
    (r) => r.stdout,
    () => '',
  );
  const field = (name: string): string | undefined =>
    new RegExp(`^${name}\\s*:\\s*(.+)$`, 'm').exec(cpuinfo)?.[1]?.trim();
  const flags = new Set((field('flags') ?? '').split(/\s+/));
  const vendor = field('vendor_id') ?? '';
  const family = Number(field('cpu family') ?? 0);
  const maxMhz = Number(lscpuField(lscpu, 'CPU max MHz') ?? 0);
  const currentMhz = Number(field('cpu MHz') ?? 0);
  const ghz = Math.max(maxMhz, currentMhz) / 1000;
  // AMD Zen 4 (family 25) decodes AVX-512 but runs it on 256-bit datapaths: 8 fp32 lanes at full rate.
  const zen4Style = vendor === 'AuthenticAMD' && family <= 25;
  const fp32Lanes = flags.has('avx512f') && !zen4Style ? 16 : flags.has('avx2') || flags.has('avx') ? 8 : 4;
  const fmaUnits = flags.has('fma') ? 2 : 1;
  const flopsPerFma = flags.has('fma') ? 2 : 1;
  const peakGflops = cores * fp32Lanes * fmaUnits * flopsPerFma * ghz;
  return {
    cpuModel: field('model name') ?? 'unknown',
    cores,
    ghz,
    fp32Lanes,
    fmaUnits,
    peakGflops,
    formula: `${cores} cores × ${fp32Lanes} fp32 lanes × ${fmaUnits} FMA units × ${flopsPerFma} flops × ${ghz.toFixed(2)} GHz`,
  };
}

// ---------------------------------------------------------------------------------------------
// Child processes.

interface RunOutput {
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, args: readonly string[], env: Readonly<Record<string, string>>): Promise<RunOutput> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error)
          reject(
            new Error(`${path.basename(file)} ${args.join(' ')} failed: ${lastLines(stderr || error.message, 3)}`),
          );
        else resolve({ stdout, stderr });
      },
    );
  });
}

function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}

interface WorkerResult {
  readonly samples: number;
  readonly seconds: number;
  readonly samplesPerSecond: number;
  readonly samplesPerCpuSecond: number;
  readonly detail: string;
}

function parseWorkerOutput(stdout: string): WorkerResult {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no JSON result in the output: ${lastLines(stdout, 3)}`);
  const parsed = JSON.parse(line) as Partial<WorkerResult> & { tensorflowVersion?: string; cpuSeconds?: number };
  if (
    typeof parsed.samplesPerSecond !== 'number' ||
    typeof parsed.samples !== 'number' ||
    typeof parsed.seconds !== 'number' ||
    typeof parsed.cpuSeconds !== 'number'
  ) {
    throw new Error(`malformed result: ${line}`);
  }
  return {
    samples: parsed.samples,
    seconds: parsed.seconds,
    samplesPerSecond: parsed.samplesPerSecond,
    samplesPerCpuSecond: parsed.samples / parsed.cpuSeconds,
    detail: parsed.detail ?? (parsed.tensorflowVersion ? `TensorFlow ${parsed.tensorflowVersion}` : ''),
  };
}

const tfThreadEnv = (threads: number): Record<string, string> => ({
  TF_NUM_INTRAOP_THREADS: String(threads),
  TF_NUM_INTEROP_THREADS: '1',
  TF_CPP_MIN_LOG_LEVEL: '2',
});

async function kerasPython(options: BenchOptions): Promise<string> {
  if (options.kerasPython) return options.kerasPython;
  const setup = await run('bash', [path.join(__dirname, '..', 'infra', 'keras', 'setup-venv.sh')], {});
  const python = setup.stdout.trim().split('\n').at(-1);
  if (!python) throw new Error('infra/keras/setup-venv.sh printed no python path');
  return python;
}

async function runOne(options: BenchOptions, backend: BenchBackendName, model: BenchModelName): Promise<WorkerResult> {
  const plan = options.batches[backend][model];
  const batchSize = options.batchSize[model];
  if (backend === 'keras') {
    const python = await kerasPython(options);
    const script = path.join(__dirname, 'keras', 'train_bench.py');
    const args = [script, '--model', model, '--batch-size', String(batchSize), '--batches', String(plan.timed)];
    args.push('--warmup-batches', String(plan.warmup), '--threads', String(options.threads));
    return parseWorkerOutput((await run(python, args, tfThreadEnv(options.threads))).stdout);
  }
  const args = [
    '--import',
    'tsx',
    __filename,
    '--worker',
    backend,
    model,
    String(batchSize),
    String(plan.warmup),
    String(plan.timed),
  ];
  return parseWorkerOutput((await run(process.execPath, args, tfThreadEnv(options.threads))).stdout);
}

// ---------------------------------------------------------------------------------------------
// The benchmark.

export async function benchBackends(overrides: Partial<BenchOptions> = {}): Promise<BackendBenchReport> {
  const options: BenchOptions = { ...defaultBenchOptions, ...overrides };
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const machine = await estimateMachinePeak(os.cpus().length);
  const loadAverageAtStart = os.loadavg()[0] ?? 0;
  const results: ThroughputResult[] = [];
  for (const model of options.models) {
    const best = new Map<BenchBackendName, { result?: WorkerResult; runs: number; error?: string }>();
    const rounds = Math.max(...options.backends.map((b) => options.repeats[b]));
    for (let round = 0; round < rounds; round++) {
      for (const backend of options.backends) {
        const entry = best.get(backend) ?? { runs: 0 };
        best.set(backend, entry);
        // A backend that failed once (not installed, no binding) is not retried.
        if (round >= options.repeats[backend] || entry.error !== undefined) continue;
        try {
          const result = await runOne(options, backend, model);
          entry.runs++;
          if (!entry.result || result.samplesPerSecond > entry.result.samplesPerSecond) entry.result = result;
          log(
            `bench: ${model} on ${backend}: ${result.samplesPerSecond.toFixed(1)} samples/s, ${result.samplesPerCpuSecond.toFixed(1)} per CPU-second (${result.samples} samples in ${result.seconds.toFixed(2)} s)`,
          );
        } catch (error) {
          entry.error = error instanceof Error ? error.message : String(error);
          log(`bench: ${model} on ${backend} failed: ${entry.error}`);
        }
      }
    }
    for (const backend of options.backends) {
      const entry = best.get(backend);
      const base = {
        model,
        backend,
        batchSize: options.batchSize[model],
        threads: options.threads,
        runs: entry?.runs ?? 0,
      };
      if (entry?.result) {
        results.push({
          ...base,
          ...entry.result,
          gflops: (entry.result.samplesPerSecond * trainingFlopsPerSample(model)) / 1e9,
        });
      } else {
        results.push({ ...base, error: entry?.error ?? 'not run' });
      }
    }
  }
  const speed = (model: BenchModelName, backend: BenchBackendName): number | undefined =>
    results.find((r) => r.model === model && r.backend === backend)?.samplesPerSecond;
  const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
    a !== undefined && b !== undefined ? a / b : undefined;
  const ratioFor = (model: BenchModelName) => {
    const nativeVsKeras = ratio(speed(model, 'native'), speed(model, 'keras'));
    const nativeVsPureJs = ratio(speed(model, 'native'), speed(model, 'pure-js'));
    const perCpu = (backend: BenchBackendName) =>
      results.find((r) => r.model === model && r.backend === backend)?.samplesPerCpuSecond;
    const nativeVsKerasPerCpuSecond = ratio(perCpu('native'), perCpu('keras'));
    return {
      ...(nativeVsKeras !== undefined ? { nativeVsKeras } : {}),
      ...(nativeVsKerasPerCpuSecond !== undefined ? { nativeVsKerasPerCpuSecond } : {}),
      ...(nativeVsPureJs !== undefined ? { nativeVsPureJs } : {}),
    };
  };
  const ratios = { mlp: ratioFor('mlp'), cnn: ratioFor('cnn') };
  const { log: _log, ...recordedOptions } = options;
  return {
    options: recordedOptions,
    machine,
    results,
    ratios,
    loadAverageAtStart,
    table: formatTable(results, machine, speed, loadAverageAtStart),
  };
}

/** Two significant digits below 10 (0.73, 0.0019), whole numbers above. */
function formatRatio(ratio: number): string {
  return ratio >= 10 ? ratio.toFixed(0) : ratio.toPrecision(2);
}

function formatTable(
  results: readonly ThroughputResult[],
  machine: MachinePeak,
  speed: (model: BenchModelName, backend: BenchBackendName) => number | undefined,
  loadAverage: number,
): string {
  const header = [
    'model',
    'backend',
    'batch',
    'threads',
    'runs',
    'samples/s',
    '× keras',
    '× pure-js',
    'samples/cpu-s',
    '× keras (cpu)',
    'GFLOP/s',
    '% peak',
    'detail',
  ];
  const rows = results.map((r) => {
    const keras = speed(r.model, 'keras');
    const kerasPerCpu = results.find((k) => k.model === r.model && k.backend === 'keras')?.samplesPerCpuSecond;
    const perCpu = r.samplesPerCpuSecond;
    const pureJs = speed(r.model, 'pure-js');
    const sps = r.samplesPerSecond;
    return [
      r.model,
      r.backend,
      String(r.batchSize),
      String(r.threads),
      String(r.runs ?? 0),
      sps === undefined ? 'failed' : sps.toFixed(1),
      sps !== undefined && keras ? formatRatio(sps / keras) : '',
      sps !== undefined && pureJs ? formatRatio(sps / pureJs) : '',
      perCpu === undefined ? '' : perCpu.toFixed(1),
      perCpu !== undefined && kerasPerCpu ? formatRatio(perCpu / kerasPerCpu) : '',
      r.gflops === undefined ? '' : r.gflops.toFixed(2),
      r.gflops === undefined ? '' : ((100 * r.gflops) / machine.peakGflops).toFixed(1),
      r.error ?? r.detail ?? '',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const flops = (['mlp', 'cnn'] as const)
    .map((m) => `${m} ${(trainingFlopsPerSample(m) / 1e6).toFixed(2)} MFLOP/sample`)
    .join(', ');
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `peak ≈ ${machine.peakGflops.toFixed(0)} GFLOP/s fp32 (${machine.formula}; ${machine.cpuModel})`,
    `training cost ≈ 3 × forward multiply-adds: ${flops}`,
    `each row is its fastest run; 1-min load average at start ${loadAverage.toFixed(1)} on ${machine.cores} cores (other work skews the numbers)`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Worker: one model on one tfjs backend, printing a JSON line.

/** Seeded uniform data (LCG), so every backend trains on the same numbers. */
function seededValues(count: number, seed: number): Float32Array {
  const values = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = (state / 2 ** 32) * 2 - 1;
  }
  return values;
}

/**
 * One model on one tfjs backend and engine, through runTrainingLoop (shuffling, batching and
 * metrics included, as in a fine-tune stage). With a warm-up, the loop trains two epochs over the
 * same data and only the second is timed: the first pays for building the graph and TensorFlow's
 * first-run optimisations, as Keras's warm-up fit pays for tracing.
 */
async function runWorker(argv: readonly string[]): Promise<void> {
  const [backend, model, batchSizeText, warmupText, timedText] = argv;
  if (
    (backend !== 'native' && backend !== 'native-eager' && backend !== 'pure-js') ||
    (model !== 'mlp' && model !== 'cnn')
  ) {
    throw new Error(
      `usage: backend-bench.ts --worker native|native-eager|pure-js mlp|cnn BATCH WARMUP TIMED (got ${argv.join(' ')})`,
    );
  }
  const batchSize = Number(batchSizeText);
  const warmup = Number(warmupText);
  const timed = Number(timedText);
  const { tf, backend: ran } = loadTf({ preference: backend === 'pure-js' ? 'cpu' : 'native' });
  const shape = modelInputs[model];
  const samples = timed * batchSize;
  const labels = Int32Array.from(seededValues(samples, 11), (v) => Math.floor(((v + 1) / 2) * CLASSES) % CLASSES);
  const set = {
    featureShape: [...shape],
    classes: Array.from({ length: CLASSES }, (_, i) => String(i)),
    features: seededValues(samples * shape.reduce((a, b) => a * b, 1), 7),
    labels,
  };
  const net = buildBenchModel(tf, model);
  const trainableLayers = net.layers.filter((layer) => layer.weights.length > 0).map((layer) => layer.name);
  const epochs = warmup > 0 ? 2 : 1;
  let mark = { at: process.hrtime.bigint(), cpu: process.cpuUsage() }; // cpuUsage: all threads, libtensorflow's pools included
  let timedEpoch: { seconds: number; cpuSeconds: number } | undefined;
  const result = await runTrainingLoop({
    tf,
    model: net,
    phases: [{ name: 'bench', epochs, learningRate: 1e-3, trainableLayers }],
    hyperparameters: { epochs, batchSize, learningRate: 1e-3, optimizer: 'adam' },
    train: memorySource(set),
    numClasses: CLASSES,
    requestKey: 'bench',
    engine: backend === 'native' ? 'graph' : 'eager',
    onEpoch: ({ epoch }) => {
      const now = { at: process.hrtime.bigint(), cpu: process.cpuUsage() };
      if (epoch === epochs) {
        const cpu = process.cpuUsage(mark.cpu);
        timedEpoch = { seconds: Number(now.at - mark.at) / 1e9, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
      }
      mark = now;
    },
  });
  if (!timedEpoch) throw new Error('the timed epoch did not run');
  const { seconds, cpuSeconds } = timedEpoch;
  const detail = `tfjs ${tf.version.tfjs} on ${ran}, ${result.engine} engine`;
  process.stdout.write(
    `${JSON.stringify({ samples, seconds, cpuSeconds, samplesPerSecond: samples / seconds, detail })}\n`,
  );
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv[0] === '--worker') {
    await runWorker(argv.slice(1));
    return;
  }
  guardSectionArgs('backend', argv);
  const report = await benchBackends();
  process.stdout.write(`${report.table}\n`);
  const resultsDir = path.join(__dirname, 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(path.join(resultsDir, 'backend-bench.json'), `${JSON.stringify(report, null, 2)}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  });
}
