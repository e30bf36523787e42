/**
 * A typed builder over the fineflow_tf_graph addon (src/ml/graph/native): TensorFlow graphs
 * built op by op through the C API, differentiated with TF_AddGradients and run in a session.
 * This is how the native backend trains at graph speed: one session run per batch instead of a
 * few hundred eager ops through tfjs (see src/ml/graph/train-graph.ts).
 */
import { existsSync } from 'node:fs';
import { ADDON_PATH, GRAPH_ADDON_FIX } from './graph-addon';

export type DType = 'float32' | 'int32' | 'int64' | 'bool' | 'resource';

/** TF_DataType values (tensorflow/c/tf_datatype.h). */
const DTYPE_CODES: Readonly<Record<DType, number>> = { float32: 1, int32: 3, int64: 9, bool: 10, resource: 20 };
const DTYPE_BY_CODE = new Map<number, DType>(Object.entries(DTYPE_CODES).map(([name, code]) => [code, name as DType]));

/** One output of an operation: `op:index` in TensorFlow's notation. */
export interface Output {
  readonly op: string;
  readonly index: number;
}

export type TensorData = Float32Array | Int32Array | BigInt64Array | Uint8Array;

export interface HostTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

export type AttrValue =
  | { readonly type: DType }
  | { readonly int: number }
  | { readonly float: number }
  | { readonly bool: boolean }
  | { readonly string: string }
  /** `null` = unknown rank; -1 = unknown dimension. */
  | { readonly shape: readonly number[] | null }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] }
  | { readonly types: readonly DType[] }
  | { readonly tensor: HostTensor };

type NativeOutput = [string, number];
type NativeAttr = [string, string, unknown, unknown?];

interface NativeAddon {
  graphCreate(): unknown;
  graphAddOp(
    graph: unknown,
    type: string,
    name: string,
    inputs: (NativeOutput | NativeOutput[])[],
    attrs: NativeAttr[],
    control: string[],
  ): number;
  graphAddGradients(graph: unknown, prefix: string, ys: NativeOutput[], xs: NativeOutput[]): NativeOutput[];
  sessionCreate(graph: unknown, config: Uint8Array | null): unknown;
  sessionRun(
    session: unknown,
    feeds: [string, number, number, number[], TensorData][],
    fetches: NativeOutput[],
    targets: string[],
  ): [number, number[], TensorData][];
  sessionClose(session: unknown): void;
  version(): string;
}

let cached: { addon?: NativeAddon; error?: string } | undefined;

/**
 * The addon, or why it is unavailable. It links against the libtensorflow tfjs-node loads, so
 * callers load tfjs-node first (the native backend); on the pure-JS backend it is never used.
 */
export function loadGraphAddon(): { addon?: NativeAddon; error?: string } {
  if (cached) return cached;
  const file = ADDON_PATH;
  if (!existsSync(file)) {
    cached = { error: `${file} does not exist; ${GRAPH_ADDON_FIX}` };
    return cached;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = { addon: require(file) as NativeAddon };
  } catch (error) {
    cached = {
      error: `${file} does not load (${error instanceof Error ? error.message : String(error)}); ${GRAPH_ADDON_FIX}`,
    };
  }
  return cached;
}

function nativeOutput(output: Output): NativeOutput {
  return [output.op, output.index];
}

function nativeAttr(name: string, value: AttrValue): NativeAttr {
  if ('type' in value) return [name, 'type', DTYPE_CODES[value.type]];
  if ('int' in value) return [name, 'int', value.int];
  if ('float' in value) return [name, 'float', value.float];
  if ('bool' in value) return [name, 'bool', value.bool];
  if ('string' in value) return [name, 'string', value.string];
  if ('shape' in value) return [name, 'shape', value.shape === null ? null : [...value.shape]];
  if ('ints' in value) return [name, 'ints', [...value.ints]];
  if ('floats' in value) return [name, 'floats', [...value.floats]];
  if ('types' in value) return [name, 'types', value.types.map((type) => DTYPE_CODES[type])];
  return [name, 'tensor', value.tensor.data, [DTYPE_CODES[value.tensor.dtype], [...value.tensor.shape]]];
}

/** Bytes of ConfigProto setting the thread pools (0 = TensorFlow chooses). */
export function sessionConfig(intraOpThreads: number, interOpThreads: number): Uint8Array {
  const bytes: number[] = [];
  const varint = (value: number): void => {
    let rest = value;
    while (rest >= 0x80) {
      bytes.push((rest & 0x7f) | 0x80);
      rest = Math.floor(rest / 128);
    }
    bytes.push(rest);
  };
  // ConfigProto.intra_op_parallelism_threads = 2, inter_op_parallelism_threads = 5 (both varint).
  if (intraOpThreads > 0) {
    bytes.push((2 << 3) | 0);
    varint(intraOpThreads);
  }
  if (interOpThreads > 0) {
    bytes.push((5 << 3) | 0);
    varint(interOpThreads);
  }
  return Uint8Array.from(bytes);
}

export interface OpOptions {
  /** Name suffix; made unique within the graph. */
  readonly name?: string;
  readonly control?: readonly string[];
}

export class Graph {
  private readonly handle: unknown;
  private readonly names = new Map<string, number>();

  constructor(private readonly addon: NativeAddon) {
    this.handle = addon.graphCreate();
  }

  /** A unique op name from `base`. */
  uniqueName(base: string): string {
    const count = this.names.get(base) ?? 0;
    this.names.set(base, count + 1);
    return count === 0 ? base : `${base}_${count}`;
  }

  /** Adds an operation under a unique name; returns the name and how many outputs it has. */
  private add(
    type: string,
    inputs: readonly (Output | readonly Output[])[],
    attrs: Readonly<Record<string, AttrValue>>,
    options: OpOptions,
  ): { name: string; outputs: number } {
    const name = this.uniqueName(options.name ?? type);
    const outputs = this.addon.graphAddOp(
      this.handle,
      type,
      name,
      inputs.map((input) =>
        Array.isArray(input) ? (input as readonly Output[]).map(nativeOutput) : nativeOutput(input as Output),
      ),
      Object.entries(attrs).map(([key, value]) => nativeAttr(key, value)),
      [...(options.control ?? [])],
    );
    return { name, outputs };
  }

  /** Adds an operation; returns all its outputs. */
  op(
    type: string,
    inputs: readonly (Output | readonly Output[])[],
    attrs: Readonly<Record<string, AttrValue>> = {},
    options: OpOptions = {},
  ): Output[] {
    const { name, outputs } = this.add(type, inputs, attrs, options);
    return Array.from({ length: outputs }, (_, index) => ({ op: name, index }));
  }

  /** The first output of a one-output op. */
  op1(
    type: string,
    inputs: readonly (Output | readonly Output[])[],
    attrs: Readonly<Record<string, AttrValue>> = {},
    options: OpOptions = {},
  ): Output {
    const [first] = this.op(type, inputs, attrs, options);
    if (!first) throw new Error(`${type} has no outputs`);
    return first;
  }

  /** An op run for its effect (a variable update, a grouped NoOp): returns its name, for targets. */
  target(
    type: string,
    inputs: readonly (Output | readonly Output[])[],
    attrs: Readonly<Record<string, AttrValue>> = {},
    options: OpOptions = {},
  ): string {
    return this.add(type, inputs, attrs, options).name;
  }

  /** A NoOp depending on `ops`: one target that runs them all. */
  group(ops: readonly string[], name: string): string {
    return this.target('NoOp', [], {}, { name, control: ops });
  }

  placeholder(dtype: Exclude<DType, 'resource'>, shape: readonly number[] | null, name: string): Output {
    return this.op1('Placeholder', [], { dtype: { type: dtype }, shape: { shape } }, { name });
  }

  constant(tensor: HostTensor, name = 'Const'): Output {
    return this.op1('Const', [], { dtype: { type: tensor.dtype }, value: { tensor } }, { name });
  }

  scalar(value: number, name = 'Const'): Output {
    return this.constant({ dtype: 'float32', shape: [], data: Float32Array.of(value) }, name);
  }

  ints(values: readonly number[], name = 'Const'): Output {
    return this.constant({ dtype: 'int32', shape: [values.length], data: Int32Array.from(values) }, name);
  }

  /** d(sum of ys)/d(xs), added to the graph under `prefix`. */
  gradients(ys: readonly Output[], xs: readonly Output[], prefix: string): Output[] {
    const result = this.addon.graphAddGradients(
      this.handle,
      this.uniqueName(prefix),
      ys.map(nativeOutput),
      xs.map(nativeOutput),
    );
    return result.map(([op, index]) => ({ op, index }));
  }

  session(config: { readonly intraOpThreads?: number; readonly interOpThreads?: number } = {}): Session {
    const bytes = sessionConfig(config.intraOpThreads ?? 0, config.interOpThreads ?? 0);
    return new Session(this.addon, this.addon.sessionCreate(this.handle, bytes.length > 0 ? bytes : null));
  }
}

export class Session {
  private closed = false;

  constructor(
    private readonly addon: NativeAddon,
    private readonly handle: unknown,
  ) {}

  run(
    feeds: readonly (readonly [Output, HostTensor])[],
    fetches: readonly Output[],
    targets: readonly string[] = [],
  ): HostTensor[] {
    if (this.closed) throw new Error('the session is closed');
    const results = this.addon.sessionRun(
      this.handle,
      feeds.map(([output, tensor]) => [
        output.op,
        output.index,
        DTYPE_CODES[tensor.dtype],
        [...tensor.shape],
        tensor.data,
      ]),
      fetches.map(nativeOutput),
      [...targets],
    );
    return results.map(([code, shape, data]) => ({ dtype: DTYPE_BY_CODE.get(code) ?? 'float32', shape, data }));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.addon.sessionClose(this.handle);
  }
}

export function createGraph(): Graph {
  const { addon, error } = loadGraphAddon();
  if (!addon) throw new Error(`the TensorFlow graph addon is unavailable: ${error ?? 'unknown reason'}`);
  return new Graph(addon);
}
