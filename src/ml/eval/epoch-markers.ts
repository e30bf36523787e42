/**
 * The markers of an epoch chart, one rule for the evaluation report and the UI: a dashed line where each new
 * training phase starts and one at the best epoch, each worded here so that the report, the UI and the training
 * log say the same thing. No imports, so the UI bundle shares it; each face colours a marker by its `kind`.
 */

/** What a marker marks: the first epoch of a new training phase, or the epoch whose weights the model holds. */
export type EpochMarkerKind = 'phase' | 'best';

export interface EpochMarker {
  /** On the epoch axis: half an epoch before a phase's first epoch (between two points), or the best epoch. */
  readonly x: number;
  readonly label: string;
  readonly kind: EpochMarkerKind;
}

/** The one wording of a training phase (`head`, `fine-tune`, `scratch`), in charts and in the training log. */
export function trainingPhaseLabel(phase: string): string {
  return `phase ${phase}`;
}

/** Markers at each phase change of `history` (in epoch order) and at `bestEpoch`. */
export function epochMarkers(
  history: readonly { readonly epoch: number; readonly phase?: string }[],
  bestEpoch: number | undefined,
): EpochMarker[] {
  const markers: EpochMarker[] = [];
  for (let i = 1; i < history.length; i += 1) {
    const [previous, current] = [history[i - 1], history[i]];
    if (previous && current && current.phase !== undefined && previous.phase !== current.phase)
      markers.push({ x: current.epoch - 0.5, label: trainingPhaseLabel(current.phase), kind: 'phase' });
  }
  if (bestEpoch !== undefined) markers.push({ x: bestEpoch, label: `best epoch ${bestEpoch}`, kind: 'best' });
  return markers;
}
