/**
 * The DAG of a plan drawn as text for `fineflow plan`: one block per topological level, each
 * stage with its type, pool and what it waits for, joined by connectors.
 */
import { formatDuration } from '../core/spec/durations';
import type { JsonValue, Plan, PlannedFanOut } from '../core/spec/plan-types';

const bare = (value: JsonValue): string =>
  typeof value === 'string'
    ? value.replace(/^\$\{\{\s*|\s*\}\}$/g, '')
    : Array.isArray(value)
      ? `${value.length} items`
      : '?';

/** `× each of stages.split.outputs.shards (2 at a time)`, `× lr(2) × batch(stages.b.outputs.sizes)`. */
function describeFanOut(fanOut: PlannedFanOut): string {
  const lists =
    fanOut.forEach !== undefined
      ? `× each of ${bare(fanOut.forEach)}`
      : Object.entries(fanOut.matrix ?? {})
          .map(([key, list]) => `× ${key}(${bare(list)})`)
          .join(' ');
  const limits = [
    fanOut.parallelism !== undefined ? `${fanOut.parallelism} at a time` : '',
    fanOut.minSuccessRatio < 1 ? `≥${Math.round(fanOut.minSuccessRatio * 100)}% must succeed` : '',
  ].filter(Boolean);
  return `${lists}${limits.length ? ` (${limits.join(', ')})` : ''}`;
}

export interface RenderOptions {
  /** Extra text after a stage's line, e.g. cache status from `--explain-cache`. */
  readonly annotate?: (stageId: string) => string | undefined;
}

export function renderDag(plan: Plan, options: RenderOptions = {}): string {
  const byId = new Map(plan.stages.map((s) => [s.id, s]));
  const width = Math.max(...plan.stages.map((s) => s.id.length), 4);
  const typeWidth = Math.max(...plan.stages.map((s) => `${s.uses}@${s.typeVersion}`.length), 4);
  const lines: string[] = [];
  plan.levels.forEach((level, index) => {
    const last = index === plan.levels.length - 1;
    const first = byId.get(level[0] ?? '');
    // The first level of `finally:` stages: they start once every level above settled, however it ended.
    if (first?.finally && !byId.get(plan.levels[index - 1]?.[0] ?? '')?.finally)
      lines.push('├─ finally: after every stage above, whatever happened (success, failure, cancel)');
    lines.push(`${index === 0 ? '┌' : '├'}─ level ${index}${level.length > 1 ? ` (${level.length} in parallel)` : ''}`);
    for (const id of level) {
      const stage = byId.get(id);
      if (!stage) continue;
      const waits = stage.needs.length ? `  ◀ ${stage.needs.join(', ')}` : '';
      const when = stage.when !== undefined ? `  if ${stage.when.replace(/^\$\{\{\s*|\s*\}\}$/g, '')}` : '';
      const fan = stage.fanOut ? `  ${describeFanOut(stage.fanOut)}` : '';
      const extra = options.annotate?.(id);
      lines.push(
        `│  ● ${id.padEnd(width)}  ${`${stage.uses}@${stage.typeVersion}`.padEnd(typeWidth)}  [${stage.pool}, ` +
          `${formatDuration(stage.timeoutMs)}]${waits}${when}${fan}${extra ? `  ${extra}` : ''}`,
      );
    }
    if (!last) lines.push('│  ↓');
  });
  lines.push('└─ done');
  return `${lines.join('\n')}\n`;
}
