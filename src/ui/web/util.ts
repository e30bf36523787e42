/**
 * Small DOM and fetch helpers of the browser app: an element builder (text only through
 * textContent, never innerHTML, so nothing a pipeline author wrote becomes markup), the API
 * client that sends the CSRF header, and a confirmation dialog for every action.
 */
import { formatElapsed } from '../../core/spec/durations';

export type Child = Node | string | number | false | null | undefined;
type Attributes = Record<string, string | number | boolean | ((event: Event) => void) | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, '').toLowerCase(), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    parent.appendChild(
      typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child,
    );
  }
}

/** replaceChildren that skips absent children. */
export function replace(parent: Element, ...children: (Child | Child[])[]): void {
  parent.replaceChildren();
  append(parent, children);
}

export function meta(name: string): string {
  return document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? '';
}

export const settings = {
  csrf: meta('fineflow-csrf'),
  readOnly: meta('fineflow-read-only') === 'true',
  temporalUi: meta('fineflow-temporal-ui'),
  namespace: meta('fineflow-namespace'),
};

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * The JSON every API route answers with. A successful answer that is not JSON came from something else (a proxy's or
 * a login page in front of `fineflow ui`): it fails with what arrived instead of reading as `{}`, which pages drew as
 * an empty list.
 */
async function parse<T>(response: Response): Promise<T> {
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    if (response.ok)
      throw new ApiError(
        `the answer to ${new URL(response.url, location.href).pathname} was not JSON ` +
          `(${response.headers.get('content-type') ?? 'no content type'}, ${text.length} characters): something ` +
          'other than fineflow ui answered; check the address and any proxy or login page in front of it',
        response.status,
      );
    body = {};
  }
  const failed = body as { error?: { message?: string } } | null;
  if (!response.ok)
    throw new ApiError(failed?.error?.message ?? `${response.status} ${response.statusText}`, response.status);
  return body as T;
}

export async function getJson<T>(path: string): Promise<T> {
  return parse<T>(await fetch(path, { headers: { Accept: 'application/json' } }));
}

/**
 * A body as the server sent it (a stage's JSON report, shown as written when it does not parse: read as JSON, it
 * became `{}`); a failed request fails as getJson's does.
 */
export async function getText(path: string): Promise<string> {
  const response = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!response.ok) await parse(response);
  return response.text();
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  return parse<T>(
    await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Fineflow-Csrf': settings.csrf },
      body: JSON.stringify(body),
    }),
  );
}

/**
 * A modal confirmation; resolves true only on an explicit "confirm". Focus returns where it was.
 * `confirmLabel` null: the action cannot go ahead (the detail says why), so the dialog offers only Close.
 */
export function confirmAction(
  title: string,
  detail: Child | Child[],
  confirmLabel: string | null = 'Confirm',
): Promise<boolean> {
  const previous = document.activeElement as HTMLElement | null;
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-title' });
    const close = (answer: boolean): void => {
      dialog.close();
      dialog.remove();
      previous?.focus();
      resolve(answer);
    };
    const cancel = h(
      'button',
      { type: 'button', onclick: () => close(false) },
      confirmLabel === null ? 'Close' : 'Cancel',
    );
    append(dialog, [
      h('h2', { id: 'confirm-title' }, title),
      h('div', { class: 'confirm-detail' }, ...[detail].flat()),
      h(
        'div',
        { class: 'buttons' },
        cancel,
        confirmLabel !== null &&
          h(
            'button',
            { type: 'button', class: 'primary', 'data-action': 'confirm', onclick: () => close(true) },
            confirmLabel,
          ),
      ),
    ]);
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      close(false);
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

export function toast(message: string, kind: 'ok' | 'error' = 'ok'): void {
  const region =
    document.getElementById('toasts') ??
    document.body.appendChild(h('div', { id: 'toasts', role: 'status', 'aria-live': 'polite' }));
  const item = h('div', { class: `toast ${kind}` }, message);
  region.appendChild(item);
  setTimeout(() => item.remove(), kind === 'error' ? 10_000 : 4_000);
}

/**
 * A time as every page shows it, in UTC: `2026-12-08 00:20:05`. Its column heading or label says `(UTC)`; a time inside
 * running text, with no heading of its own, is written with {@link formatTimeInText}.
 */
export function formatTime(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  // A value that reads as no time (a hand-edited card): toISOString threw, and the whole page was left undrawn.
  if (Number.isNaN(date.getTime())) return 'unknown';
  return `${date.toISOString().slice(0, 10)} ${date.toISOString().slice(11, 19)}`;
}

/** A time inside a sentence (`re-sealed 2026-12-08 00:20:05 UTC by watcher`), where no heading says its zone. */
export function formatTimeInText(iso: string | undefined): string {
  const time = formatTime(iso);
  return time === '' || time === 'unknown' ? time : `${time} UTC`;
}

/** A run's or stage's duration, written as `fineflow status` writes it (`17h 45m`, `2m 5s`, `3.5 s`). */
export function formatDuration(startIso: string | undefined, endIso: string | undefined): string {
  // A number keeps its unit on its line (a no-break space): "3.5 s" never breaks between "3.5" and "s".
  return formatElapsed(startIso, endIso, Date.now()).replace(/(\d) (m?s)$/, '$1\u00a0$2');
}

/** A size, its number and unit joined by a no-break space: "46.1 KiB" broke over two lines in a phone's table. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes}\u00a0B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)}\u00a0KiB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)}\u00a0MiB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(1)}\u00a0GiB`;
}

export function formatNumber(value: unknown): string {
  if (typeof value !== 'number') return value === undefined ? '' : JSON.stringify(value);
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}

/** A status as a badge. One argument only: pages pass it to `map` and the like, whose second is an index. */
export function statusBadge(status: string): HTMLElement {
  return labelledStatusBadge(status, status);
}

/** A status's badge that reads `label`, not the status's own word (`not-run` reads "not run"). */
export function labelledStatusBadge(status: string, label: string): HTMLElement {
  return h('span', { class: `badge status-${status}` }, label);
}

export function temporalLink(workflowId: string): HTMLElement | undefined {
  if (!settings.temporalUi) return undefined;
  const href = `${settings.temporalUi.replace(/\/$/, '')}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return h('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'external' }, 'Open in Temporal UI');
}

export function errorBox(error: unknown): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, error instanceof Error ? error.message : String(error));
}

/**
 * A loading note's slow text for a read that waits on a service of the stack: "Still loading WHAT: WAITING yet. Check
 * that it is up (`fineflow dev status` for a local stack)."
 */
export function slowDependency(what: string, waiting: string): Child[] {
  return [
    `Still loading ${what}: ${waiting} yet. Check that it is up (`,
    h('code', {}, 'fineflow dev status'),
    ' for a local stack).',
  ];
}

/** How long a page waits for its data before its loading note says what may be slow. */
export const SLOW_LOAD_MS = 3_000;

/**
 * What a page shows until its data arrives ("Loading models…"), and after SLOW_LOAD_MS `slow`: what it waits for and
 * what to check. A phone's card tables hide their headings, so a page without one was blank while it loaded, and
 * stayed blank on a slow read. `stop()` (once the data or an error came) removes it.
 */
export function loadingNote(text: string, slow: Child | Child[]): { element: HTMLElement; stop(): void } {
  const element = h('p', { class: 'muted loading', role: 'status' }, text);
  const timer = window.setTimeout(() => replace(element, ...[slow].flat()), SLOW_LOAD_MS);
  return {
    element,
    stop: () => {
      window.clearTimeout(timer);
      element.remove();
    },
  };
}

/** What to do about a failed read, by how it failed. */
function failureAdvice(error: unknown): Child[] {
  const status = error instanceof ApiError ? error.status : undefined;
  if (status === undefined && error instanceof TypeError)
    return [
      'The UI server did not answer. Check that ',
      h('code', {}, 'fineflow ui'),
      ' is still running, then retry.',
    ];
  if (status === 503)
    return [
      'A service the UI reads (Temporal or the object store) did not answer. Check that it is up (',
      h('code', {}, 'fineflow dev status'),
      ' for a local stack), then retry.',
    ];
  if (status === 404) return ['Check the name in the address.'];
  // The access checks' own messages say what to do (open /?token=…, reload the page).
  if (status === 400 || status === 401 || status === 403) return [];
  return ['The UI server’s log has the details; retry once it is fixed.'];
}

/** A read that failed: what could not be loaded, the server's reason, what to do, and a Retry button. */
export function loadFailure(what: string, error: unknown, retry: () => void): HTMLElement {
  const advice = failureAdvice(error);
  return h(
    'div',
    { class: 'load-failure', role: 'alert' },
    h('p', { class: 'error' }, `Could not load ${what}: ${error instanceof Error ? error.message : String(error)}`),
    advice.length > 0 && h('p', {}, ...advice),
    h('button', { type: 'button', onclick: retry }, 'Retry'),
  );
}

/**
 * Show a failed read's note in `into`; a page that refreshes itself and fails again as before keeps the note it shows
 * (redrawn, it took the focus off Retry every refresh and a screen reader heard the same alert again).
 */
export function showLoadFailure(into: HTMLElement, what: string, error: unknown, retry: () => void): void {
  const note = loadFailure(what, error, retry);
  const shown = into.querySelector(':scope > .load-failure');
  if (shown && into.childElementCount === 1 && shown.textContent === note.textContent) return;
  into.replaceChildren(note);
}

/** What a page's read is called while it loads and when it fails (see {@link loadInto}). */
export interface LoadText {
  /** The note while the read is out ("Loading models…"). */
  readonly loading: string;
  /** What the note says after SLOW_LOAD_MS: what the read waits for and what to check. */
  readonly slow: Child | Child[];
  /** What could not be loaded ("the models"), for the failure note. */
  readonly what: string;
  /** Read again this long after each read is through (a page that shows live state); none: read on demand only. */
  readonly refreshMs?: number;
}

/** A page's read, from {@link loadInto}. */
export interface Reading {
  /** Read again with the loading note (a Retry, a reload after an action). */
  load(): void;
  /** Read again without a note (what each refresh does; after an action on a page that refreshes itself). */
  refresh(): void;
  /** With the page: no read draws any more, no refresh is left waiting. */
  dispose(): void;
}

/**
 * Draw, then give the focus back: a redraw replaces the element a keyboard user was on, so the element that was
 * focused is found again by its `data-focus-key` (a run's checkbox, a schedule's Pause button).
 */
function drawKeepingFocus<T>(draw: (value: T) => void, value: T): void {
  const key = (document.activeElement as HTMLElement | null)?.dataset?.focusKey;
  draw(value);
  if (key === undefined || (document.activeElement !== null && document.activeElement !== document.body)) return;
  document.querySelector<HTMLElement>(`[data-focus-key="${CSS.escape(key)}"]`)?.focus();
}

/**
 * A page's read: a loading note in `status` until it is through, then `draw` with its value; a failed read leaves
 * what failed, what to do and Retry in `status`. With `refreshMs` the page keeps itself current: each read is
 * followed by another `refreshMs` after it is through, without a note; a refresh that fails as the last one did keeps
 * the note it shows ({@link showLoadFailure}), a redraw keeps the focus (`data-focus-key`), and a hidden tab reads
 * nothing until it is shown again (then at once). Only the newest read draws (a Retry or an action while a refresh is
 * out). The one place where the runs, schedules, run, models and compare pages read.
 */
export function loadInto<T>(
  status: HTMLElement,
  how: LoadText,
  read: () => Promise<T>,
  draw: (value: T) => void,
): Reading {
  let note: ReturnType<typeof loadingNote> | undefined;
  let disposed = false;
  let reads = 0;
  let timer: number | undefined;
  // A Retry pressed in `status` replaces the button it was pressed on: the focus follows the read (its loading note, a
  // failure's new Retry, then `status` saying what loaded) instead of falling to the page, where a keyboard user
  // started again from the top with nothing said.
  let followRead = false;
  status.classList.add('load-status');
  // What loaded is said while the focus is on it; left, it goes (it would otherwise stay until the next read).
  const onFocusOut = (event: FocusEvent): void => {
    if (!status.contains(event.relatedTarget as Node | null)) status.querySelector(':scope > .loaded')?.remove();
  };
  status.addEventListener('focusout', onFocusOut);
  const focusIn = (element: HTMLElement | null | undefined): void => {
    if (!followRead || !element) return;
    if (!element.matches('button')) element.tabIndex = -1;
    element.focus({ preventScroll: false });
  };
  const refreshes = how.refreshMs !== undefined;
  const hidden = (): boolean => document.visibilityState === 'hidden';
  const scheduleNext = (): void => {
    window.clearTimeout(timer);
    if (refreshes && !disposed && !hidden()) timer = window.setTimeout(refresh, how.refreshMs);
  };
  const start = (withNote: boolean): void => {
    const turn = ++reads;
    window.clearTimeout(timer);
    if (withNote) {
      note?.stop();
      note = loadingNote(how.loading, how.slow);
      status.replaceChildren(note.element);
      focusIn(note.element);
    }
    // Two-argument then: an error in `draw` is the page's bug, not a failed read.
    read().then(
      (value) => {
        if (disposed || turn !== reads) return;
        note?.stop();
        // After a Retry, `status` keeps the focus and says what loaded, on screen and outlined (styles.css), until the
        // focus leaves it; a refresh meanwhile keeps it. The next Tab goes on into what was drawn.
        if (followRead)
          status.replaceChildren(h('p', { class: 'muted loaded', role: 'status' }, `Loaded ${how.what}.`));
        else if (!status.contains(document.activeElement)) status.replaceChildren();
        focusIn(status);
        followRead = false;
        scheduleNext();
        drawKeepingFocus(draw, value);
      },
      (error: unknown) => {
        if (disposed || turn !== reads) return;
        note?.stop();
        showLoadFailure(status, how.what, error, load);
        focusIn(status.querySelector<HTMLElement>(':scope > .load-failure button'));
        scheduleNext();
      },
    );
  };
  const load = (): void => {
    followRead = status.contains(document.activeElement);
    start(true);
  };
  const refresh = (): void => start(false);
  // A hidden tab stops reading (a left-open tab polled the server every few seconds); shown again, it reads at once.
  const onVisibility = (): void => {
    if (disposed) return;
    if (hidden()) window.clearTimeout(timer);
    else refresh();
  };
  if (refreshes) document.addEventListener('visibilitychange', onVisibility);
  load();
  return {
    load,
    refresh,
    dispose: () => {
      disposed = true;
      note?.stop();
      window.clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
      status.removeEventListener('focusout', onFocusOut);
    },
  };
}

let scrollHints = 0;

/**
 * A box that scrolls sideways inside the page says so (a phone: the run's DAG, a model's lineage, compare's runs, a
 * sweep's parallel plot): `scroller` goes into a frame whose edge shows a shadow on each side where more of it lies
 * beyond, gone at that end (styles.css: .scroll-frame). While it overflows, the box is a named region in the tab order
 * (the arrow keys scroll it), and its description says on which side more lies; a box that fits is plain. Place the
 * frame this returns where `scroller` would go.
 */
export function scrollHint(scroller: HTMLElement, label: string): HTMLElement {
  const hint = h('span', { class: 'sr-only', id: `scroll-hint-${++scrollHints}` });
  const frame = h('div', { class: 'scroll-frame' }, scroller, hint);
  const update = (): void => {
    const max = scroller.scrollWidth - scroller.clientWidth;
    const overflowing = max > 1;
    const left = overflowing && scroller.scrollLeft > 1;
    const right = overflowing && scroller.scrollLeft < max - 1;
    frame.toggleAttribute('data-more-left', left);
    frame.toggleAttribute('data-more-right', right);
    const side = left && right ? 'on both sides' : left ? 'to the left' : 'to the right';
    const text = overflowing ? `More ${side}: scroll sideways, or use the arrow keys.` : '';
    if (hint.textContent !== text) hint.textContent = text;
    if (overflowing) {
      scroller.tabIndex = 0;
      scroller.setAttribute('role', 'region');
      scroller.setAttribute('aria-label', `${label} (scrolls sideways)`);
      scroller.setAttribute('aria-describedby', hint.id);
    } else if (scroller.hasAttribute('aria-describedby')) {
      for (const name of ['tabindex', 'role', 'aria-label', 'aria-describedby']) scroller.removeAttribute(name);
    }
  };
  scroller.addEventListener('scroll', update, { passive: true });
  // The box's size (the window, the layout) and its content's (a DAG drawn, a table filled) both change what overflows.
  const sizes = new ResizeObserver(update);
  const observeContent = (): void => {
    sizes.disconnect();
    sizes.observe(scroller);
    for (const child of scroller.children) sizes.observe(child);
    update();
  };
  new MutationObserver(observeContent).observe(scroller, { childList: true });
  observeContent();
  return frame;
}

/** A live view is torn down when the route changes: EventSources, timers, charts. */
export interface Page {
  readonly element: HTMLElement;
  dispose?(): void;
}
