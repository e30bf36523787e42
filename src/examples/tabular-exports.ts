/**
 * The seeded tabular exports the examples read: a churn CSV with the columns pipelines/tabular.yaml
 * reads (a quarter shift the fine-tune adapts to), and a loan CSV with missing cells and an imbalanced
 * label for pipelines/loan-default.yaml. Shared by `fineflow dev seed` and the end-to-end tests.
 */
import { mulberry32, randomInt, randomNormal, type Random } from '../ml/random';

export const CHURN_PLANS = ['basic', 'plus', 'pro'] as const;
export const CHURN_REGIONS = ['north', 'south', 'east', 'west'] as const;

/** One customer of the churn export pipelines/tabular.yaml reads. */
export interface ChurnRow {
  readonly tenureMonths: number;
  readonly monthlySpend: number;
  readonly supportTickets: number;
  readonly plan: string;
  readonly region: string;
  readonly churned: 'yes' | 'no';
}

function churnRow(random: Random, quarterShift: number): ChurnRow {
  const tenureMonths = 1 + randomInt(random, 72);
  const plan = CHURN_PLANS[randomInt(random, CHURN_PLANS.length)] as string;
  const region = CHURN_REGIONS[randomInt(random, CHURN_REGIONS.length)] as string;
  const monthlySpend =
    Math.round(
      (30 +
        25 * CHURN_PLANS.indexOf(plan as (typeof CHURN_PLANS)[number]) +
        10 * randomNormal(random) +
        8 * quarterShift) *
        100,
    ) / 100;
  const supportTickets = Math.max(0, Math.round(1.5 + 1.5 * randomNormal(random) + quarterShift));
  // Short tenure, many tickets and a high bill make a customer leave; the later quarter's
  // customers are more price-sensitive (the shift a fine-tune adapts to).
  const score =
    1.2 -
    tenureMonths / 18 +
    0.7 * supportTickets +
    (0.02 + 0.02 * quarterShift) * (monthlySpend - 55) +
    0.5 * randomNormal(random);
  return { tenureMonths, monthlySpend, supportTickets, plan, region, churned: score > 0 ? 'yes' : 'no' };
}

/** `rows` customers of a quarter; `quarterShift` 0 is the older quarter, 1 the shifted newer one. */
export function generateChurn(rows: number, seed: number, quarterShift: number): ChurnRow[] {
  const random = mulberry32(seed);
  return Array.from({ length: rows }, () => churnRow(random, quarterShift));
}

/** One application of the loan export pipelines/loan-default.yaml reads; '' and 'NA' are missing cells. */
export interface LoanRow {
  readonly income: number;
  readonly age: number | '';
  readonly employment: string;
  readonly debt_ratio: number | 'NA';
  readonly default: 'yes' | 'no';
}

const EMPLOYMENT = ['salaried', 'self-employed', 'unemployed', 'retired'] as const;

/** `rows` applications: about 1 in 6 defaults, ~5% of `age` empty and ~3% of `debt_ratio` NA. */
export function generateLoans(rows: number, seed: number): LoanRow[] {
  const random = mulberry32(seed);
  return Array.from({ length: rows }, () => {
    const income = Math.round(20000 + random() * 80000);
    const age = Math.round(20 + random() * 45);
    const employment = EMPLOYMENT[randomInt(random, EMPLOYMENT.length)] as string;
    const debt = Math.round(random() * 1000) / 1000;
    const score = 3 * debt - income / 40000 + (employment === 'unemployed' ? 1.5 : 0) + (random() - 0.5);
    return {
      income,
      age: random() < 0.05 ? '' : age,
      employment,
      debt_ratio: random() < 0.03 ? 'NA' : debt,
      default: score > 1.7 ? 'yes' : 'no',
    };
  });
}
