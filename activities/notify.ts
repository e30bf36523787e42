/**
 * Stage `notify`: one POST of the stage's message to a webhook, through the outbound policy
 * (src/security/outbound.ts: allowed prefixes, public addresses only unless the operator says
 * otherwise, no redirects for a POST, capped answer). Spec and bounds: src/spec/notify-stage-type.ts.
 *
 * Answers: 2xx succeeds; 429 and 5xx are the webhook's outage (retryable); any other status is
 * the pipeline's mistake (wrong URL or token) and is not retried. The webhook's answer body is
 * never quoted: it is not ours to put in logs.
 */
import { DependencyUnavailableError, InvalidInputError, ResourceLimitError } from '../src/core/errors';
import type { JsonObject, JsonValue } from '../src/core/spec/plan-types';
import type { StageActivityInput, StageActivityResult, StageContext } from '../src/core/run/run-types';
import { outboundPolicy } from '../src/security/outbound';
import { redactUri } from '../src/core/security/redact';
import { NOTIFY_LIMITS } from '../src/spec/notify-stage-type';
import type { StageImplementation, StageRuntime } from './stage-runner';
import { checkStageInputs } from './ml-stage-support';

/** The request body for a format: Slack-style `{text}` or Fineflow's JSON with the run's coordinates. */
export function notificationBody(
  format: string,
  message: string,
  data: JsonValue | undefined,
  context: StageContext,
): Uint8Array {
  const body: JsonObject =
    format === 'slack'
      ? { text: message }
      : {
          pipeline: context.pipeline,
          runId: context.runId,
          stage: context.stageId,
          message,
          ...(data !== undefined ? { data } : {}),
        };
  return new TextEncoder().encode(JSON.stringify(body));
}

function checkAnswer(status: number, url: string): void {
  if (status >= 200 && status < 300) return;
  const where = redactUri(url);
  if (status === 429 || status >= 500)
    throw new DependencyUnavailableError(`webhook ${where} answered ${status}; retrying later`, { status });
  if (status >= 300 && status < 400)
    throw new InvalidInputError(`webhook ${where} answered with a redirect (${status}); a POST is never redirected`, {
      status,
      hint: 'set `url` to the address the webhook redirects to',
    });
  throw new InvalidInputError(`webhook ${where} refused the notification with ${status}`, {
    status,
    hint: 'check the webhook URL and its `auth` secret',
  });
}

export const notifyStage: StageImplementation = async (
  input: StageActivityInput,
  runtime: StageRuntime,
): Promise<StageActivityResult> => {
  const inputs = checkStageInputs('notify', input.inputs);
  const url = inputs.url;
  const format = typeof inputs.format === 'string' ? inputs.format : 'json';
  const body = notificationBody(format, inputs.message, inputs.data, input.context);
  if (body.length > NOTIFY_LIMITS.bodyBytes)
    throw new ResourceLimitError(
      `the notification is ${body.length} bytes, over the ${NOTIFY_LIMITS.bodyBytes}-byte limit of notify`,
      { bytes: body.length, hint: 'send less in `data`, or a link to the details' },
    );
  const auth: Record<string, string> =
    typeof inputs.auth === 'string' && inputs.auth !== '' ? { authorization: inputs.auth } : {};
  runtime.log(`posting a ${body.length}-byte ${format} notification to ${redactUri(url)}`);
  const response = await outboundPolicy().request(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'user-agent': 'fineflow-notify/1', ...auth },
    maxBytes: NOTIFY_LIMITS.responseBytes,
    timeoutMs: NOTIFY_LIMITS.timeoutMs,
    signal: runtime.signal,
  });
  checkAnswer(response.status, url);
  runtime.log(`webhook answered ${response.status}`);
  return { outputs: { status: response.status, bytes: body.length } };
};
