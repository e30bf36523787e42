import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { parsePreprocessing, readPreprocessingBeside } from '../../../src/ml/data/preprocessing-file';
import {
  applyToImages,
  applyToRows,
  fitPreprocessing,
  encodeRow,
  reencodeFeatures,
  serializePreprocessing,
  type ImagePreprocessing,
  type TableLayout,
  type TablePreprocessing,
} from '../../../src/ml/data/preprocessing';
import { prepareDataset } from '../../../src/ml/data/prepare';
import { loadSplit } from '../../../src/ml/data/shards';
import { evaluateModel } from '../../../src/ml/eval/evaluate';
import { loadTf } from '../../../src/ml/backend';
import { saveModel } from '../../../src/ml/models/load-model';
import { registerModel } from '../../../src/ml/models/registry';
import { writePreprocessingBeside } from '../../../src/ml/data/preprocessing-file';
import { createMemoryObjectStore } from './helpers/memory-object-store';

const layout: TableLayout = {
  columns: [
    { name: 'x', kind: 'numeric' },
    { name: 'colour', kind: 'categorical', categories: ['blue', 'red'] },
  ],
  naValues: ['NA', '?'],
};

function tableOf(normalize: boolean): TablePreprocessing {
  const rows = [
    { x: '1', colour: 'red' },
    { x: '3', colour: 'blue' },
    { x: 'NA', colour: 'red' },
  ];
  const fitted = fitPreprocessing(
    { kind: 'table', layout, classes: ['a', 'b'], labelColumn: 'label', normalize },
    rows.map((row) => encodeRow(layout, row)),
  );
  assert.equal(fitted.kind, 'table');
  return fitted as TablePreprocessing;
}

function png(width: number, height: number, pixel: (x: number, y: number) => [number, number, number, number]): Buffer {
  const image = new PNG({ width, height });
  for (let y = 0; y < height; y += 1)
    for (let x = 0; x < width; x += 1) image.data.set(pixel(x, y), (y * width + x) * 4);
  return PNG.sync.write(image);
}

describe('preprocessing: tables', () => {
  it('fits mean/std on the training rows (missing cells skipped) and stores the vocabulary in column order', () => {
    const fitted = tableOf(true);
    assert.deepEqual(fitted.featureShape, [3]);
    assert.deepEqual(fitted.columns[0], { name: 'x', kind: 'numeric', mean: 2, std: Number(Math.SQRT2.toFixed(6)) });
    assert.deepEqual(fitted.columns[1], { name: 'colour', kind: 'categorical', categories: ['blue', 'red'] });
  });

  it('applies to raw rows: imputes NA and ? with the training mean, standardises, one-hots, unknown category is zeros', () => {
    const features = applyToRows(tableOf(true), [
      { x: '4', colour: 'red', label: 'a' },
      { x: '?', colour: 'green' },
    ]);
    assert.deepEqual(
      Array.from(features, (v) => Number(v.toFixed(4))),
      [Number((2 / Math.SQRT2).toFixed(4)), 0, 1, 0, 0, 0],
    );
  });

  it('normalize: false keeps raw values but still imputes missing cells', () => {
    const features = applyToRows(
      tableOf(false),
      [{ x: '4', colour: 'blue' }, { x: '' }].map((r) => ({ colour: '', ...r })),
    );
    assert.deepEqual(Array.from(features), [4, 1, 0, 2, 0, 0]);
  });

  it('names the row and column of an absent column or a cell that is not a number', () => {
    assert.throws(
      () => applyToRows(tableOf(true), [{ x: '1', colour: 'red' }, { colour: 'red' }], (i) => `in.csv:${i + 2}`),
      {
        message: /^in\.csv:3: column x is absent; the model takes columns x, colour/,
      },
    );
    assert.throws(() => applyToRows(tableOf(true), [{ x: 'hot', colour: 'red' }]), {
      message: /^row 1: column x is "hot", not a number \(add it to naValues/,
    });
  });

  it('re-encodes a dataset layout into a model layout by column and category name', () => {
    const dataset: TableLayout = {
      columns: [
        { name: 'colour', kind: 'categorical', categories: ['green', 'red'] },
        { name: 'x', kind: 'numeric' },
      ],
      naValues: [],
    };
    // rows: (green, 5), (red, NaN)
    const out = reencodeFeatures(dataset, layout, Float32Array.from([1, 0, 5, 0, 1, Number.NaN]));
    assert.deepEqual(Array.from(out), [5, 0, 0, Number.NaN, 0, 1]);
    assert.throws(() => reencodeFeatures({ columns: [], naValues: [] }, layout, new Float32Array(0)), {
      message: /the model takes numeric column x, which the data lacks/,
    });
  });
});

describe('preprocessing: images', () => {
  const spec: ImagePreprocessing = {
    format: 'fineflow-preprocessing/v1',
    kind: 'image',
    classes: ['a'],
    featureShape: [2, 2, 1],
    size: [2, 2],
    channels: 1,
    background: [255, 255, 255],
    normalize: false,
    mean: [0],
    std: [1],
  };

  it('composites transparent pixels onto the background instead of turning them black', () => {
    // A black stroke (opaque) on a fully transparent background whose RGB is 0.
    const bytes = png(2, 2, (x) => (x === 0 ? [0, 0, 0, 255] : [0, 0, 0, 0]));
    assert.deepEqual(Array.from(applyToImages(spec, [{ bytes, where: 'a.png' }])), [0, 1, 0, 1]);
    const onBlack = applyToImages({ ...spec, background: [0, 0, 0] }, [{ bytes, where: 'a.png' }]);
    assert.deepEqual(Array.from(onBlack), [0, 0, 0, 0]);
  });

  it('standardises per channel with the stored statistics, and names a corrupt or foreign file', () => {
    const bytes = png(4, 4, () => [255, 255, 255, 255]);
    const features = applyToImages({ ...spec, normalize: true, mean: [0.5], std: [0.25] }, [{ bytes, where: 'w.png' }]);
    assert.deepEqual(Array.from(features), [2, 2, 2, 2]);
    assert.throws(() => applyToImages(spec, [{ bytes: bytes.subarray(0, 40), where: 'cut.png' }]), {
      message: /^cut\.png is a corrupt PNG: /,
    });
    assert.throws(() => applyToImages(spec, [{ bytes: Buffer.from('GIF89a....'), where: 'x.gif' }]), {
      message: /^x\.gif is not a PNG or JPEG image/,
    });
  });
});

describe('preprocessing.json', () => {
  it('round-trips and refuses bad files naming the field', () => {
    const table = tableOf(true);
    assert.deepEqual(parsePreprocessing(serializePreprocessing(table), 'p.json'), table);
    const bad = (change: Record<string, unknown>): string => JSON.stringify({ ...table, ...change });
    assert.throws(() => parsePreprocessing(bad({ format: 'x/v9' }), 'p.json'), {
      message: /^p\.json: field format is "x\/v9"; this fineflow reads fineflow-preprocessing\/v1/,
    });
    assert.throws(() => parsePreprocessing(bad({ featureShape: [4] }), 'p.json'), {
      message: /field featureShape is \[4\] but the columns encode 3/,
    });
    assert.throws(
      () => parsePreprocessing(bad({ columns: [{ name: 'x', kind: 'numeric', mean: 0, std: 0 }] }), 'p.json'),
      { message: /field columns\[0\]\.std must be positive/ },
    );
    const many = Array.from({ length: 10_001 }, (_, i) => ({ name: `c${i}`, kind: 'numeric', mean: 0, std: 1 }));
    assert.throws(() => parsePreprocessing(bad({ columns: many }), 'p.json'), {
      message: /field columns has 10001 entries, at most 10000 are accepted/,
    });
    assert.throws(() => parsePreprocessing('{', 'p.json'), { message: /field \(file\) is not JSON/ });
  });
});

describe('the model carries its preprocessing', () => {
  it('prepare-data fits it on the training split; its shards read back equal applyToRows on the raw rows', async () => {
    const store = createMemoryObjectStore();
    const lines = ['x,y,colour,label'];
    for (let i = 0; i < 40; i += 1)
      lines.push(`${i % 7 === 0 ? 'NA' : i},${i * 2},${i % 3 ? 'red' : 'blue'},${i % 2 ? 'a' : 'b'}`);
    await store.putBytes('s3://raw/t/data.csv', `${lines.join('\n')}\n`);
    const prepared = await prepareDataset(store, {
      source: 's3://raw/t/',
      format: 'csv',
      split: { train: 0.5, validation: 0.25, test: 0.25, seed: 1 },
      outputPrefix: 's3://out/t',
    });
    const preprocessing = prepared.manifest.preprocessing as TablePreprocessing;
    assert.equal(preprocessing.kind, 'table');
    assert.deepEqual(
      preprocessing.columns.map((c) => c.name),
      ['x', 'y', 'colour'],
    );
    const expected = new Set(
      lines.slice(1).map((line) => {
        const [x, y, colour] = line.split(',');
        return Array.from(applyToRows(preprocessing, [{ x, y, colour }]), (v) => v.toFixed(4)).join(',');
      }),
    );
    const test = await loadSplit(store, prepared.manifest, 'test');
    for (let i = 0; i < test.labels.length; i += 1)
      assert.ok(expected.has(Array.from(test.features.subarray(i * 4, i * 4 + 4), (v) => v.toFixed(4)).join(',')));
  });

  it('normalize: false is honoured for CSV (raw values, missing imputed)', async () => {
    const store = createMemoryObjectStore();
    await store.putBytes('s3://raw/n/data.csv', 'x,label\n10,a\n20,b\n30,a\nNA,b\n50,a\n60,b\n');
    const prepared = await prepareDataset(store, {
      source: 's3://raw/n/data.csv',
      format: 'csv',
      normalize: false,
      split: { train: 1, validation: 0, test: 0, seed: 0 },
      outputPrefix: 's3://out/n',
    });
    assert.equal(prepared.manifest.preprocessing?.normalize, false);
    const train = await loadSplit(store, prepared.manifest, 'train');
    assert.deepEqual(
      Array.from(train.features).sort((a, b) => a - b),
      [10, 20, 30, 34, 50, 60],
    );
  });

  it('registration copies it into the registry and the card; evaluate applies the model’s, not the dataset’s', async () => {
    const { tf } = loadTf({ preference: 'cpu' });
    const store = createMemoryObjectStore();
    // Training data centred at 100: the model was fitted on (x - 100) / 10, class b when positive.
    const trained: TablePreprocessing = {
      format: 'fineflow-preprocessing/v1',
      kind: 'table',
      classes: ['a', 'b'],
      featureShape: [1],
      labelColumn: 'label',
      naValues: [],
      normalize: true,
      columns: [{ name: 'x', kind: 'numeric', mean: 100, std: 10 }],
    };
    const model = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [1], units: 2, activation: 'softmax', useBias: false })],
    });
    model.setWeights([tf.tensor2d([[-5, 5]])]);
    await saveModel(tf, store, model, 's3://runs/r1/finetune/model');
    await writePreprocessingBeside(store, 's3://runs/r1/finetune/model', trained);
    const registered = await registerModel(store, {
      bucket: 'fineflow',
      name: 'shifty',
      modelUri: 's3://runs/r1/finetune/model',
    });
    assert.deepEqual(registered.card.preprocessing, trained);
    assert.deepEqual(await readPreprocessingBeside(store, registered.modelUri), trained);

    // New data, all above 90: its own statistics (mean ≈ 105) would call half of the a's b's.
    const rows = ['x,label'];
    for (let i = 0; i < 40; i += 1) rows.push(i % 2 ? `${101 + i},b` : `${91 + (i % 9)},a`);
    await store.putBytes('s3://raw/new/data.csv', `${rows.join('\n')}\n`);
    const prepared = await prepareDataset(store, {
      source: 's3://raw/new/data.csv',
      format: 'csv',
      split: { train: 0.5, validation: 0, test: 0.5, seed: 3 },
      outputPrefix: 's3://out/new',
    });
    const result = await evaluateModel(store, {
      modelUri: registered.uri,
      datasetUri: prepared.manifestUri,
      reportPrefix: 's3://out/report',
      registryBucket: 'fineflow',
      tfBackend: 'cpu',
    });
    assert.equal(result.report.preprocessing, 'model');
    assert.equal(result.metrics.accuracy, 1);
    model.dispose();
  });
});
