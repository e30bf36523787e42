/**
 * The `notify` stage type: posts a message to a webhook (Slack-style `{text}` or Fineflow's own
 * JSON) through the outbound policy (activities/notify.ts). Meant for `finally:` stages
 * (src/core/run/finally.ts) that tell a team how a run ended, as Argo's exit handlers and KFP's
 * `ExitHandler` are used. The operator decides which webhook URLs are reachable
 * (FINEFLOW_OUTBOUND_ALLOW); authors write the message, bounded here.
 */
import type { StageTypeDefinition } from './stage-type-definition';

/** Bounds on what an author may send; validate and the activity share them. */
export const NOTIFY_LIMITS = Object.freeze({
  messageChars: 4_000,
  /** The whole request body after resolving expressions (message and data). */
  bodyBytes: 64 * 1024,
  /** What is read of the webhook's answer. */
  responseBytes: 64 * 1024,
  timeoutMs: 15_000,
});

export const NOTIFY_STAGE_TYPE: StageTypeDefinition = {
  name: 'notify',
  version: '1.0.0',
  description:
    "Post a message about the run to a webhook (allowed by the operator's outbound policy); typically a `finally:` " +
    'stage reading ${{ run.status }}.',
  inputs: {
    type: 'object',
    properties: {
      url: {
        type: 'uri',
        schemes: ['https', 'http'],
        description: 'webhook URL; the worker reaches it only if FINEFLOW_OUTBOUND_ALLOW covers it',
      },
      message: {
        type: 'string',
        minLength: 1,
        maxLength: NOTIFY_LIMITS.messageChars,
        description: 'the text, e.g. "${{ run.status }}: failed ${{ run.failedStages }}"',
      },
      format: {
        type: 'enum',
        values: ['json', 'slack'],
        default: 'json',
        description:
          '`json`: {pipeline, runId, stage, message, data}; `slack`: {text} (Slack, Mattermost and other ' +
          'incoming webhooks)',
      },
      data: {
        type: 'any',
        description: 'extra JSON sent as `data` (format json), e.g. {status: "${{ run.status }}"}; body at most 64 KiB',
      },
      auth: {
        type: 'string',
        secret: true,
        description: 'Authorization header value for the webhook; must be ${{ secrets.NAME }}',
      },
    },
    required: ['url', 'message'],
  },
  outputs: {
    status: { type: 'integer', description: 'HTTP status the webhook answered (2xx)' },
    bytes: { type: 'integer', description: 'size of the request body sent' },
  },
};
