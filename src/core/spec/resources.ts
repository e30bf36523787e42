/**
 * Stage resource requests (`resources: {cpu, memory, gpu}`) and worker capacity: the units, their
 * bounds, and whether a request fits. Pure and workflow-safe: the spec compiler, the workflow, the
 * worker's admission ledger (src/worker/resource-ledger.ts) and the client's "no worker can fit"
 * check (src/client/worker-presence.ts) share these definitions.
 */

/** What a stage asks for, normalised: CPU cores, memory in MiB, whole GPUs. Absent keys ask for nothing. */
export interface PlannedResources {
  readonly cpu?: number;
  readonly memoryMb?: number;
  readonly gpu?: number;
}

/** What a worker offers; every key known (the worker fills in its host's cores and memory). */
export interface WorkerCapacity {
  readonly cpu: number;
  readonly memoryMb: number;
  readonly gpu: number;
}

export const RESOURCE_BOUNDS = {
  cpu: { min: 0.01, max: 256 },
  /** 4 TiB. */
  memoryMb: { min: 1, max: 4 * 1024 * 1024 },
  gpu: { min: 0, max: 64 },
} as const;

/** Kubernetes-style quantities with a unit: 512Mi, 4Gi, 1.5Gi, 500M, 2G. */
export const MEMORY_PATTERN = '^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|K|M|G|T)$';
const MEMORY_UNITS_MB: { readonly [unit: string]: number } = {
  Ki: 1 / 1024,
  Mi: 1,
  Gi: 1024,
  Ti: 1024 * 1024,
  K: 1000 / 2 ** 20,
  M: 1e6 / 2 ** 20,
  G: 1e9 / 2 ** 20,
  T: 1e12 / 2 ** 20,
};

/** MiB of a memory quantity (rounded up), or undefined when it is not one. */
export function parseMemory(text: string): number | undefined {
  const match = new RegExp(MEMORY_PATTERN).exec(text.trim());
  if (!match) return undefined;
  const unit = match[2] as string;
  const amount = Number(text.trim().slice(0, -unit.length));
  return Math.ceil(amount * (MEMORY_UNITS_MB[unit] as number));
}

/** 4096 → "4Gi", 1536 → "1.5Gi", 512 → "512Mi". */
export function formatMemory(mb: number): string {
  if (mb >= 1024 * 1024 && mb % ((1024 * 1024) / 10) === 0) return `${mb / (1024 * 1024)}Ti`;
  if (mb >= 1024 && (mb * 10) % 1024 === 0) return `${mb / 1024}Gi`;
  return `${mb}Mi`;
}

/** "cpu 4, memory 16Gi, gpu 1" (only the keys a request has). */
export function describeResources(resources: PlannedResources): string {
  const parts: string[] = [];
  if (resources.cpu !== undefined) parts.push(`cpu ${resources.cpu}`);
  if (resources.memoryMb !== undefined) parts.push(`memory ${formatMemory(resources.memoryMb)}`);
  if (resources.gpu !== undefined) parts.push(`gpu ${resources.gpu}`);
  return parts.join(', ');
}

/** The keys of `request` that exceed `capacity` (empty when it fits). */
export function shortfall(request: PlannedResources, capacity: WorkerCapacity): ('cpu' | 'memory' | 'gpu')[] {
  const short: ('cpu' | 'memory' | 'gpu')[] = [];
  if ((request.cpu ?? 0) > capacity.cpu) short.push('cpu');
  if ((request.memoryMb ?? 0) > capacity.memoryMb) short.push('memory');
  if ((request.gpu ?? 0) > capacity.gpu) short.push('gpu');
  return short;
}

export function fits(request: PlannedResources, capacity: WorkerCapacity): boolean {
  return shortfall(request, capacity).length === 0;
}

/**
 * Workers announce their capacity in their Temporal identity (DescribeTaskQueue lists pollers by
 * identity), so a client can tell "no worker of pool X can fit this stage" without a registry.
 */
const CAPACITY_TAG = /\[capacity cpu=([0-9.]+) memory=([0-9]+)Mi gpu=([0-9]+)\]/;

export function capacityTag(capacity: WorkerCapacity): string {
  return `[capacity cpu=${capacity.cpu} memory=${capacity.memoryMb}Mi gpu=${capacity.gpu}]`;
}

/** The capacity a worker announced in its identity; undefined for workers that announce none. */
export function capacityFromIdentity(identity: string): WorkerCapacity | undefined {
  const match = CAPACITY_TAG.exec(identity);
  if (!match) return undefined;
  return { cpu: Number(match[1]), memoryMb: Number(match[2]), gpu: Number(match[3]) };
}
