/**
 * Spec benchmark: validate and compile a generated 500-stage pipeline (a wide, deep DAG of
 * prepare → fine-tune → evaluate → register chains with cross references). Target: well
 * under a second. `npm run bench` calls benchSpec(); run this file directly for a quick look.
 */
import { parse as parseYaml } from 'yaml';
import { compilePlan, validatePipeline } from '../src/spec';
import { guardSectionArgs } from './bench-flags';

export interface SpecBenchResult {
  readonly name: string;
  /** Median wall time of one run. */
  readonly ms: number;
  /** Median CPU time (user + system) of one run: steadier than wall time on a shared machine. */
  readonly cpuMs: number;
  readonly stages: number;
  readonly bytes: number;
  readonly runs: number;
}

/** A valid pipeline with `groups` × 4 stages plus cross-group references. */
export function generatePipeline(groups: number): string {
  const lines = [
    'apiVersion: fineflow/v1',
    'kind: Pipeline',
    'metadata: {name: bench}',
    'params:',
    '  dataset: s3://datasets/bench/',
    '  minAccuracy: 0.9',
    'defaults: {pool: cpu, timeout: 30m, retry: {maxAttempts: 3, initialInterval: 5s}}',
    'stages:',
  ];
  for (let g = 0; g < groups; g++) {
    const upstream = g > 0 ? `\n    needs: [evaluate-${g - 1}]` : '';
    lines.push(
      `  prepare-${g}:`,
      '    uses: prepare-data',
      `    with: {source: "\${{ params.dataset }}part-${g}/", format: image-folder, split: {train: 0.7, validation: 0.15, test: 0.15}}${upstream}`,
      `  train-${g}:`,
      '    uses: fine-tune',
      '    pool: train',
      '    with:',
      `      model: ${g > 0 ? `"\${{ stages.train-${g - 1}.outputs.model }}"` : 'registry://digits-cnn@latest'}`,
      `      data: "\${{ stages.prepare-${g}.outputs.dataset }}"`,
      '      epochs: 5',
      '      earlyStopping: {monitor: validation.loss, patience: 2}',
      `  evaluate-${g}:`,
      '    uses: evaluate',
      '    with:',
      `      model: "\${{ stages.train-${g}.outputs.model }}"`,
      `      data: "\${{ stages.prepare-${g}.outputs.dataset }}"`,
      '      gate: {metric: accuracy, min: "${{ params.minAccuracy }}"}',
      `  register-${g}:`,
      '    uses: register-model',
      `    when: "\${{ stages.evaluate-${g}.outputs.passed and stages.evaluate-${g}.outputs.metrics.accuracy >= params.minAccuracy }}"`,
      `    with: {model: "\${{ stages.train-${g}.outputs.model }}", name: bench-${g}, alias: champion}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const round = (value: number): number => Number(value.toFixed(1));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

export async function benchSpec(): Promise<SpecBenchResult[]> {
  const text = generatePipeline(125);
  const runs = 7;
  const check = compilePlan(text, 'bench.yaml');
  if (!check.plan || check.plan.stages.length !== 500) {
    throw new Error(
      `bench pipeline did not compile: ${check.diagnostics.map((d) => `${d.code} ${d.message}`).join('; ')}`,
    );
  }
  compilePlan(text, 'bench.yaml'); // warm-up
  const times = {
    parse: [] as number[],
    parseCpu: [] as number[],
    validate: [] as number[],
    plan: [] as number[],
    validateCpu: [] as number[],
    planCpu: [] as number[],
  };
  const measure = (action: () => void, wall: number[], cpu: number[]): void => {
    const startedCpu = process.cpuUsage();
    const started = performance.now();
    action();
    wall.push(performance.now() - started);
    const used = process.cpuUsage(startedCpu);
    cpu.push((used.user + used.system) / 1000);
  };
  for (let i = 0; i < runs; i++) {
    // Baseline: what merely parsing the same YAML costs, so the figures read as a ratio.
    measure(() => parseYaml(text), times.parse, times.parseCpu);
    measure(() => validatePipeline(text, 'bench.yaml'), times.validate, times.validateCpu);
    measure(() => compilePlan(text, 'bench.yaml'), times.plan, times.planCpu);
  }
  const bytes = Buffer.byteLength(text);
  return [
    {
      name: 'baseline: YAML.parse of the same file',
      ms: round(median(times.parse)),
      cpuMs: round(median(times.parseCpu)),
      stages: 500,
      bytes,
      runs,
    },
    {
      name: 'spec: validate 500-stage pipeline',
      ms: round(median(times.validate)),
      cpuMs: round(median(times.validateCpu)),
      stages: 500,
      bytes,
      runs,
    },
    {
      name: 'spec: validate + plan 500-stage pipeline',
      ms: round(median(times.plan)),
      cpuMs: round(median(times.planCpu)),
      stages: 500,
      bytes,
      runs,
    },
  ];
}

if (require.main === module) {
  guardSectionArgs('spec', process.argv.slice(2));
  benchSpec()
    .then((results) => {
      const baseline = results[0]?.ms ?? 1;
      for (const r of results) {
        process.stdout.write(
          `${r.name.padEnd(44)} ${String(r.ms).padStart(8)} ms (cpu ${r.cpuMs} ms)  ${(r.ms / baseline).toFixed(2)}x baseline  (${r.stages} stages, ${(r.bytes / 1024).toFixed(0)} KiB, median of ${r.runs})\n`,
        );
      }
    })
    .catch((error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exitCode = 1;
    });
}
