/** What /api/models/NAME/versions/N/measures answers (src/ui/model-measures.ts): shared by the server and the app. */

export interface ClassMeasure {
  readonly name: string;
  readonly precision?: number;
  readonly recall?: number;
  readonly f1?: number;
  /** Examples of the class in the evaluated split. */
  readonly support?: number;
}

/** One stage's numbers about the model, labelled with what they measure and who measured them. */
export interface MeasureSource {
  /** `evaluation`: an evaluate stage on held-out data; `training`: the fine-tune stage that trained the weights. */
  readonly kind: 'evaluation' | 'training';
  /** What the numbers are ("test set metrics"). */
  readonly what: string;
  readonly runId?: string;
  readonly stage?: string;
  /** The evaluated split. */
  readonly split?: string;
  /** Examples in the evaluated split. */
  readonly examples?: number;
  /** Metric name → value, as the stage named them. */
  readonly metrics: readonly (readonly [string, number])[];
  readonly perClass?: readonly ClassMeasure[];
  /** The evaluate stage's gate. */
  readonly passed?: boolean;
  /** The gate's reasons as the card records them ("accuracy 0.9312 >= min 0.9"). */
  readonly gateReasons?: readonly string[];
  /** Numbers kept on the card: the evaluate stage that measured them, when the card records it (`stage` registered). */
  readonly evaluatedBy?: string;
  /** A stage served from the cache: the run and stage that computed its numbers. */
  readonly computedIn?: { readonly runId: string; readonly stage: string };
  /** Why there are no numbers. */
  readonly problem?: string;
  /** The numbers are the card's own, kept after the run that measured them lost its history. */
  readonly fromCard?: boolean;
  /** `runId` is no longer in Temporal: its stage is named, not linked. */
  readonly runGone?: boolean;
}

export interface ModelMeasures {
  readonly sources: readonly MeasureSource[];
  /** Why the evaluation could not be found, in the page's words. */
  readonly problem?: string;
  /** The registering run, when Temporal no longer has its history (deleted, or past the namespace's retention). */
  readonly runGone?: string;
  /** The prefix of the lineage's dataset version, when its manifest is recorded. */
  readonly datasetPrefix?: string;
}

/**
 * What each kind of number measures, as the model page's Metrics section heads them and its versions table labels
 * its columns: one wording for both.
 */
export const MEASURE_WORDING = {
  evaluation: 'Evaluation',
  training: 'Training',
  /** An evaluate stage's numbers, on the split it scored (`test` unless it says otherwise). */
  splitMetrics: (split: string): string => `${split} set metrics`,
  trainingMetrics: 'training and validation metrics of the saved weights',
  /** The evaluation's numbers kept on the card, when the run that measured them is gone. */
  cardMetrics: 'metrics the card records',
  /** Why a version's evaluation can no longer be read from its registering run. */
  runGone: (runId: string, card: 'gate' | 'numbers'): string =>
    `Run ${runId} that registered this version is no longer in Temporal: its history was deleted (Temporal ` +
    'deletes an ended run once the namespace’s retention period has passed, or when someone deletes it). ' +
    (card === 'gate'
      ? 'The card records its evaluation and gate verdict: they are below; the run’s pages went with it.'
      : 'Which evaluate stage scored the version, on which split, and whether its gate passed went with it; what ' +
        'the card itself records is below.'),
} as const;
