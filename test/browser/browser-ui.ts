/**
 * The real UI server on an in-memory store, with only the run-client calls a test's pages make, and Debian's Chromium:
 * what the browser tests that load whole pages (not single charts, ./web-page.ts) start before and close after.
 */
import { after, before } from 'node:test';
import type { Browser } from 'playwright-core';
import { defaultPayloadConverter } from '@temporalio/common';
import { launchChromium } from '../../scripts/chromium';
import type { RunClient } from '../../src/client/run-client';
import type { RunState } from '../../src/core/run/run-types';
import type { Plan } from '../../src/core/spec/plan-types';
import { InvalidInputError } from '../../src/core/errors';
import { createMemoryObjectStore } from '../../src/storage/memory-store';
import type { ScheduleService } from '../../src/schedules/schedule-client';
import type { ObjectStore } from '../../src/storage/object-store';
import { startUiServer, type RunningUi } from '../../src/ui/server';

export interface BrowserUi {
  readonly ui: RunningUi;
  readonly browser: Browser;
}

export async function startBrowserUi(options: {
  /** The run-client methods the pages under test call; any other call fails loudly. */
  readonly runs: Partial<RunClient>;
  readonly store: ObjectStore;
  readonly bucket: string;
  /** The schedule-service calls the pages under test make (the schedules page: `list`, `watchers.listWithState`). */
  readonly schedules?: Partial<ScheduleService>;
}): Promise<BrowserUi> {
  const ui = await startUiServer({
    runs: options.runs as RunClient,
    store: options.store,
    bucket: options.bucket,
    schedules: (options.schedules ?? {}) as ScheduleService,
    namespace: 'default',
  });
  return { ui, browser: await launchChromium() };
}

export async function closeBrowserUi(started: Partial<BrowserUi>): Promise<void> {
  await started.browser?.close();
  await started.ui?.close();
}

/**
 * The UI server with no runs and an empty in-memory store, and Chromium, started before the file's tests and closed
 * after them: for pages that need no data (the header, the pipelines page, a run the page is handed). Read `ui` and
 * `browser` inside a test.
 */
export function useEmptyBrowserUi(): BrowserUi {
  const started: Partial<BrowserUi> = {};
  before(async () => {
    const store = createMemoryObjectStore({ buckets: ['fineflow'] });
    Object.assign(started, await startBrowserUi({ runs: {}, store, bucket: 'fineflow' }));
  });
  after(() => closeBrowserUi(started));
  return {
    get ui(): RunningUi {
      if (!started.ui) throw new Error('useEmptyBrowserUi: not started yet (read it inside a test)');
      return started.ui;
    },
    get browser(): Browser {
      if (!started.browser) throw new Error('useEmptyBrowserUi: not started yet (read it inside a test)');
      return started.browser;
    },
  };
}

/**
 * startBrowserUi for pages that read only runs' states (run, compare, report pages): the run client's `state` answers
 * for these runs and fails for any other id; the store is in memory (put reports in `store` before the pages read them).
 */
export async function startRunStatesUi(
  states: readonly RunState[],
  store: ObjectStore = createMemoryObjectStore({ buckets: ['fineflow'] }),
  bucket = 'fineflow',
): Promise<BrowserUi> {
  const runs: Pick<RunClient, 'state'> = {
    state: async (runId: string) => {
      const state = states.find((candidate) => candidate.runId === runId);
      if (!state) throw new Error(`no run ${runId}`);
      return state;
    },
  };
  return startBrowserUi({ runs, store, bucket });
}

/** What the real run client throws for a run Temporal does not have (deleted, past retention, never started). */
function noRun(runId: string): InvalidInputError {
  return new InvalidInputError(`no run ${runId}`, { runId, code: 'no-run' });
}

/**
 * The run client of pages that read a run's plan from its recorded start (the first event of its history, decoded as
 * src/client/run-input.ts decodes it) and its state (the model page's Metrics): every run in `states` was started
 * with `plan`; any other id is a run Temporal does not have, as the real client says.
 */
export function recordedRunsClient(plan: Plan, states: ReadonlyMap<string, RunState>): Partial<RunClient> {
  const started = { plan, trigger: { kind: 'manual' } };
  const client = {
    options: {
      namespace: 'default',
      loadedDataConverter: { payloadCodecs: [], payloadConverter: defaultPayloadConverter },
    },
    workflowService: {
      getWorkflowExecutionHistory: async (request: { execution?: { workflowId?: string } }) => {
        const runId = request.execution?.workflowId ?? '';
        if (!states.has(runId)) throw noRun(runId);
        const input = { payloads: [defaultPayloadConverter.toPayload(started)] };
        return { history: { events: [{ workflowExecutionStartedEventAttributes: { input } }] } };
      },
    },
  };
  return {
    client: client as unknown as RunClient['client'],
    state: async (runId: string) => {
      const state = states.get(runId);
      if (!state) throw noRun(runId);
      return state;
    },
  };
}
