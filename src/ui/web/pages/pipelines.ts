/**
 * Pipelines: paste YAML, see every diagnostic at its line (the same compiler as `fineflow
 * validate` and `plan`, on the server) and the plan's DAG; submit when valid.
 */
import { drawDag, type GraphData } from '../dag';
import { EXAMPLE_PIPELINE } from '../pipeline-example';
import type { Diagnostic } from '../types';
import { confirmAction, errorBox, h, postJson, scrollHint, settings, toast, type Page } from '../util';

interface ValidateAnswer {
  readonly valid: boolean;
  readonly diagnostics: readonly Diagnostic[];
  readonly graph?: GraphData;
  readonly params?: Record<string, unknown>;
}

/** The source with line numbers; lines with diagnostics marked, each diagnostic right under its line. */
function annotatedSource(text: string, diagnostics: readonly Diagnostic[]): HTMLElement {
  const byLine = new Map<number, Diagnostic[]>();
  for (const d of diagnostics) byLine.set(d.line, [...(byLine.get(d.line) ?? []), d]);
  const lines = text.split('\n');
  const rows: HTMLElement[] = [];
  lines.forEach((line, index) => {
    const number = index + 1;
    const found = byLine.get(number);
    const severity = found?.some((d) => d.severity === 'error') ? 'error' : found ? 'warning' : undefined;
    rows.push(
      h(
        'div',
        { class: `src-line${severity ? ` has-${severity}` : ''}`, 'data-line': number },
        h('span', { class: 'ln', 'aria-hidden': 'true' }, number),
        h('code', {}, line || ' '),
      ),
    );
    for (const d of found ?? []) {
      rows.push(
        h(
          'div',
          { class: `diag ${d.severity}`, 'data-line': d.line, 'data-code': d.code, role: 'note' },
          h('span', { class: 'ln' }, ''),
          h(
            'span',
            {},
            `${' '.repeat(Math.max(0, d.column - 1))}^ `,
            h('strong', {}, `${d.severity} ${d.code}`),
            ` ${d.message}`,
            d.hint ? h('span', { class: 'hint' }, ` — ${d.hint}`) : undefined,
          ),
        ),
      );
    }
  });
  // Diagnostics past the end (e.g. line 0 for the whole file) still show.
  for (const d of diagnostics.filter((d) => d.line < 1 || d.line > lines.length))
    rows.push(
      h('div', { class: `diag ${d.severity}`, 'data-line': d.line, 'data-code': d.code }, `${d.code}: ${d.message}`),
    );
  return h('div', { class: 'source', 'aria-label': 'Pipeline with diagnostics' }, ...rows);
}

export function pipelinesPage(): Page {
  const editor = h('textarea', { id: 'pipeline-yaml', spellcheck: 'false', rows: 18, 'aria-label': 'Pipeline YAML' });
  editor.value = sessionStorage.getItem('fineflow-pipeline') ?? EXAMPLE_PIPELINE;
  const result = h('div', { class: 'validation', 'aria-live': 'polite' });
  const dagBox = h('div', { class: 'dag-box' });
  const submit = h('button', { type: 'button', id: 'submit-pipeline', disabled: true }, 'Submit run');
  let last: ValidateAnswer | undefined;

  const validate = async (): Promise<void> => {
    sessionStorage.setItem('fineflow-pipeline', editor.value);
    try {
      const answer = await postJson<ValidateAnswer>('/api/validate', { yaml: editor.value });
      last = answer;
      const errors = answer.diagnostics.filter((d) => d.severity === 'error').length;
      const warnings = answer.diagnostics.length - errors;
      result.replaceChildren(
        h(
          'p',
          {
            id: 'validation-summary',
            class: answer.valid ? 'ok' : 'error',
            'data-valid': String(answer.valid),
            'data-errors': errors,
          },
          answer.valid
            ? `✓ valid${warnings ? ` (${warnings} warning${warnings > 1 ? 's' : ''})` : ''}`
            : `✗ ${errors} error${errors === 1 ? '' : 's'}${warnings ? `, ${warnings} warning${warnings > 1 ? 's' : ''}` : ''}`,
        ),
        annotatedSource(editor.value, answer.diagnostics),
      );
      dagBox.replaceChildren(...(answer.graph ? [h('h2', {}, 'Plan'), drawDag(answer.graph).element] : []));
      submit.disabled = !answer.valid || settings.readOnly;
    } catch (error) {
      result.replaceChildren(errorBox(error));
    }
  };

  let debounce: number | undefined;
  editor.addEventListener('input', () => {
    window.clearTimeout(debounce);
    debounce = window.setTimeout(() => void validate(), 400);
  });
  submit.addEventListener('click', () => {
    void (async () => {
      if (!last?.valid) return;
      if (
        !(await confirmAction(
          'Submit this pipeline?',
          [`A new run starts with params ${JSON.stringify(last.params ?? {})}.`],
          'Submit',
        ))
      )
        return;
      try {
        const started = await postJson<{ submitted: boolean; runId?: string }>('/api/submit', { yaml: editor.value });
        if (started.runId) location.hash = `#/runs/${encodeURIComponent(started.runId)}`;
      } catch (error) {
        toast(error instanceof Error ? error.message : String(error), 'error');
      }
    })();
  });
  const file = h('input', { type: 'file', accept: '.yaml,.yml', 'aria-label': 'Upload a pipeline file' });
  file.addEventListener('change', () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    void chosen.text().then((text) => {
      editor.value = text;
      void validate();
    });
  });
  void validate();
  return {
    element: h(
      'section',
      { class: 'page pipelines' },
      h('h1', {}, 'Pipelines'),
      h(
        'p',
        { class: 'muted' },
        'Paste or upload a pipeline: every problem is shown at its line, with the plan’s DAG when it is valid.',
      ),
      h(
        'div',
        { class: 'toolbar' },
        h('button', { type: 'button', id: 'validate-pipeline', onclick: () => void validate() }, 'Validate'),
        file,
        submit,
      ),
      h('div', { class: 'split' }, editor, result),
      scrollHint(dagBox, 'Plan'),
    ),
    dispose: () => window.clearTimeout(debounce),
  };
}
