/**
 * The small table model the predict, serve and export tests share: sensor readings (two numeric
 * columns, one categorical, `NA` as missing) with fixed statistics, so a test can compute the
 * expected features by hand; and a helper that stores a model with its preprocessing.json (and
 * registers it) the way fine-tune and register-model do.
 */
import { PREPROCESSING_FORMAT, type Preprocessing, type TablePreprocessing } from '../../src/ml/data/preprocessing';
import { writePreprocessingBeside } from '../../src/ml/data/preprocessing-file';
import type { Tf } from '../../src/ml/backend';
import type { LayersModel } from '../../src/ml/models/architectures';
import { saveModel } from '../../src/ml/models/load-model';
import { registerModel } from '../../src/ml/models/registry';
import type { ObjectStore } from '../../src/storage/object-store';

const SENSOR_COLUMNS = {
  temperature: { name: 'temperature', kind: 'numeric', mean: 20, std: 5 },
  pressure: { name: 'pressure', kind: 'numeric', mean: 100, std: 10 },
  line: { name: 'line', kind: 'categorical', categories: ['a', 'b'] },
} as const satisfies Record<string, TablePreprocessing['columns'][number]>;

export type SensorColumn = keyof typeof SENSOR_COLUMNS;

/**
 * temperature (mean 20, std 5), pressure (mean 100, std 10), line (a|b, one-hot): 4 features; `columns` keeps some
 * of them, in this order (temperature and line: 3 features).
 */
export function sensorPreprocessing(
  classes: readonly string[],
  columns: readonly SensorColumn[] = ['temperature', 'pressure', 'line'],
): TablePreprocessing {
  const kept = columns.map((name) => SENSOR_COLUMNS[name]);
  return {
    format: PREPROCESSING_FORMAT,
    kind: 'table',
    classes: [...classes],
    featureShape: [
      kept.reduce((width, column) => width + (column.kind === 'numeric' ? 1 : column.categories.length), 0),
    ],
    labelColumn: 'label',
    naValues: ['NA'],
    normalize: true,
    columns: kept.map((column) => ({
      ...column,
      ...(column.kind === 'categorical' ? { categories: [...column.categories] } : {}),
    })),
  };
}

/** Four rows, one with a missing temperature. */
export const SENSOR_CSV = 'temperature,pressure,line\n25,110,a\nNA,95,b\n12,130,b\n30,70,a\n';

/** Save `model` at `uri` with `preprocessing` beside it; with `register`, add it to the registry as NAME@champion. */
export async function storeModel(
  tf: Tf,
  store: ObjectStore,
  model: LayersModel,
  uri: string,
  preprocessing: Preprocessing,
  register?: { readonly bucket: string; readonly name: string },
): Promise<void> {
  await saveModel(tf, store, model, uri);
  await writePreprocessingBeside(store, uri, preprocessing);
  if (register) await registerModel(store, { ...register, modelUri: uri, aliases: ['champion'] });
}
