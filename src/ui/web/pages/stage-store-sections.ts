/**
 * The stage panel's "Checkpoints" and "Cache" sections, drawn from /checkpoints and /cache
 * (src/ui/stage-store-info.ts). Runs named here are links to their pages.
 */
import type { RerunPreviewInfo, StageCacheInfo, StageCheckpoints } from '../types';
import { formatBytes, formatTimeInText, h } from '../util';

function runLink(runId: string): HTMLElement {
  return h('a', { href: `#/runs/${encodeURIComponent(runId)}`, 'data-run-link': runId }, runId);
}

function fact(term: string, ...value: (string | HTMLElement | undefined)[]): HTMLElement[] {
  return [h('dt', {}, term), h('dd', { 'data-fact': term }, ...value)];
}

type CheckpointRow = Extract<StageCheckpoints, { applies: true }>['checkpoints'][number];

function checkpointRow(c: CheckpointRow): HTMLElement {
  const marks = [
    c.latest ? 'latest' : undefined,
    c.best ? 'best' : undefined,
    c.resume ? 'retry resumes here' : undefined,
  ].filter((m): m is string => m !== undefined);
  return h(
    'tr',
    {
      'data-epoch': c.epoch,
      'data-verified': String(c.verified),
      'data-marks': marks.join(' '),
    },
    // On a phone, a card per checkpoint (styles.css: table.grid.cards), titled "epoch N", each value after its label.
    h('td', { class: 'num card-title', 'data-label': 'epoch' }, c.epoch),
    h('td', { class: 'num', 'data-label': 'size' }, formatBytes(c.bytes)),
    // The mark stays with its word (it stood alone on a line at 390 px).
    h('td', { 'data-label': 'integrity' }, c.verified ? '✓\u00a0verified' : '✗\u00a0incomplete or corrupt'),
    h('td', { 'data-label': 'role' }, marks.join(', ')),
    h(
      'td',
      { 'data-label': 'keepLast' },
      c.keptByPolicy === undefined ? '' : c.keptByPolicy ? 'kept' : 'pruned at the next checkpoint',
    ),
  );
}

export function checkpointsSection(body: StageCheckpoints): (HTMLElement | undefined)[] {
  if (!body.applies) return [h('p', { class: 'muted' }, body.note ?? 'This stage writes no checkpoints.')];
  const policy = body.policy;
  const resumes = body.attempts.map((a) =>
    h(
      'li',
      { 'data-attempt': a.attempt, 'data-resumed-from': a.resumedFromEpoch ?? '' },
      `attempt ${a.attempt}: `,
      a.resumedFromEpoch !== undefined
        ? `resumed from the checkpoint of epoch ${a.resumedFromEpoch}`
        : 'started from the beginning',
    ),
  );
  return [
    body.fromRunId
      ? h(
          'p',
          { class: 'cache-source' },
          'Served from the cache: the checkpoints of run ',
          runLink(body.fromRunId),
          '.',
        )
      : undefined,
    h(
      'dl',
      { class: 'facts' },
      ...fact(
        'Policy',
        `every ${policy.everyEpochs ?? '?'} epoch(s); keep the newest ${policy.keepLast ?? '?'} and the best epoch`,
      ),
      ...fact('Prefix', h('code', {}, body.prefix)),
      ...fact('Best epoch', body.bestEpoch !== undefined ? String(body.bestEpoch) : '–'),
      ...fact('Latest', body.latestEpoch !== undefined ? `epoch ${body.latestEpoch}` : '–'),
      ...fact(
        'Retry resumes',
        body.resumeEpoch !== undefined
          ? `from epoch ${body.resumeEpoch}: the newest checkpoint that verifies for the same inputs`
          : 'from the beginning: no checkpoint verifies',
      ),
    ),
    body.checkpoints.length === 0
      ? h('p', { class: 'muted' }, 'No checkpoints in the store (none written yet, or removed by fineflow gc).')
      : h(
          'table',
          // On a phone a card per checkpoint: "latest, retry resumes here" wrapped over 3 lines in its column, and
          // keepLast was off to the right in the table's scroll box.
          { class: 'grid compact checkpoints cards', 'aria-label': 'Checkpoints' },
          h(
            'thead',
            {},
            h('tr', {}, ...['Epoch', 'Size', 'Integrity', 'Role', 'keepLast'].map((t) => h('th', { scope: 'col' }, t))),
          ),
          h('tbody', {}, ...body.checkpoints.map(checkpointRow)),
        ),
    body.truncated ? h('p', { class: 'muted' }, 'Only the newest checkpoints are listed.') : undefined,
    h('h4', {}, 'Resume point of each attempt'),
    resumes.length > 0
      ? h('ul', { class: 'resume-points' }, ...resumes)
      : h('p', { class: 'muted' }, 'No attempt yet.'),
  ];
}

function lookupText(lookup: StageCacheInfo['lookups'][number]): (string | HTMLElement)[] {
  if (lookup.hit)
    return [
      'hit: reused the result of run ',
      runLink(lookup.fromRunId ?? ''),
      lookup.createdAt ? ` (recorded ${formatTimeInText(lookup.createdAt)})` : '',
    ];
  return [lookup.bypassed ? 'bypassed: ' : 'miss: ', lookup.reason ?? ''];
}

type RerunPreview = Exclude<RerunPreviewInfo, { unavailable: string }>;

/**
 * One row per stage of the plan: whether the new run executes it or reuses its outputs, and why (`previewRerun`'s
 * clauses). The rerun dialog and the Cache section both draw this table, so they cannot disagree. `links`: runs
 * named in a row link to their pages; the dialog passes false, a link would leave it open over another page.
 */
function rerunPlanTable(preview: RerunPreview, links: boolean): HTMLElement {
  const reused = new Map(preview.reuse.map((r) => [r.stageId, r]));
  const rows = Object.entries(preview.why).map(([stageId, why]) => {
    const reuse = reused.get(stageId);
    const producer = reuse?.producedBy;
    const source = producer ? [' (computed by run ', links ? runLink(producer) : producer, ')'] : [];
    return h(
      'tr',
      { 'data-stage': stageId, 'data-action': reuse ? 'reuse' : 'rerun' },
      h('td', {}, h('code', {}, stageId)),
      h('td', {}, reuse ? 'reused' : 'runs again'),
      h('td', {}, why, ...source),
    );
  });
  return h(
    'table',
    { class: 'grid compact rerun-plan', ...(links ? {} : { id: 'rerun-plan' }) },
    h('thead', {}, h('tr', {}, h('th', {}, 'Stage'), h('th', {}, 'In the new run'), h('th', {}, 'Why'))),
    h('tbody', {}, ...rows),
  );
}

function rerunSummary(preview: RerunPreview): string {
  const runs = `${preview.rerun.length} stage${preview.rerun.length === 1 ? '' : 's'} run again`;
  return `${runs}, ${preview.reuse.length} reused.`;
}

/** The Cache section's "rerun from here": the same table as the dialog, with runs linked. */
function rerunText(rerun: RerunPreviewInfo, stageId: string): HTMLElement {
  if ('unavailable' in rerun) return h('p', { class: 'muted', id: 'rerun-preview' }, rerun.unavailable);
  return h(
    'div',
    {
      id: 'rerun-preview',
      'data-rerun': rerun.rerun.join(' '),
      'data-reuse': rerun.reuse.map((r) => r.stageId).join(' '),
    },
    h('h4', {}, `A rerun from ${stageId}`),
    h('p', {}, rerunSummary(rerun)),
    rerunPlanTable(rerun, true),
    ...rerun.notes.map((note) => h('p', { class: 'muted rerun-note' }, note)),
  );
}

/** The rerun dialog's body: the plan table, then the notes. */
export function rerunPlanDetail(preview: RerunPreview): HTMLElement[] {
  return [
    h('p', {}, `A new run: ${rerunSummary(preview)}`),
    rerunPlanTable(preview, false),
    ...preview.notes.map((note) => h('p', { class: 'muted rerun-note' }, note)),
  ];
}

function cacheSettings(body: StageCacheInfo): string {
  if (!body.enabled) return 'disabled for this stage';
  const age = body.maxAgeMs !== undefined ? `, entries younger than ${Math.round(body.maxAgeMs / 1000)} s` : '';
  return `enabled${age}${body.refresh ? ', refreshed by the rerun' : ''}`;
}

export function cacheSection(body: StageCacheInfo, stageId: string): (HTMLElement | undefined)[] {
  const last = body.lookups[body.lookups.length - 1];
  const entry = body.entry;
  return [
    h(
      'dl',
      {
        class: 'facts',
        id: 'cache-facts',
        'data-result': last ? (last.hit ? 'hit' : 'miss') : body.reusedFrom ? 'reused' : 'none',
      },
      ...fact('Cache', cacheSettings(body)),
      ...fact('Key', last ? h('code', { title: last.key, id: 'cache-key' }, `${last.key.slice(0, 16)}…`) : '–'),
      ...fact(
        'This run',
        ...(body.reusedFrom
          ? ['reused from run ', runLink(body.reusedFrom), ' (rerun)']
          : last
            ? lookupText(last)
            : ['no lookup (the cache is disabled, or the stage did not start)']),
      ),
      ...(entry
        ? fact(
            'Next run',
            entry.usable
              ? 'a run whose inputs give this key reuses the entry'
              : `a run with this key would not reuse it: ${entry.reason ?? ''}`,
            entry.runId ? h('span', {}, ' — entry recorded by run ', runLink(entry.runId)) : undefined,
          )
        : []),
    ),
    rerunText(body.rerunFromHere, stageId),
  ];
}
