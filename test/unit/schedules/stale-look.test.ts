/**
 * When a data watcher's last look is older than its poll interval allows, and what a failed look keeps of its error
 * (src/core/schedules/watch-look.ts): the schedules page and `fineflow schedule list|describe` say it from one rule.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lookFailureText, staleLookText } from '../../../src/core/schedules/watch-look';

const NOW = Date.parse('2026-12-07T11:43:00.000Z');
const look = (iso: string) => ({ observedAt: iso });

test('a look within two polls and 30 s is current; an older one says how old and what to check', () => {
  const every = { pollIntervalMs: 60_000 };
  assert.equal(staleLookText({ ...every, lastObservation: look('2026-12-07T11:41:00.000Z') }, NOW), undefined);
  assert.equal(staleLookText({ ...every, lastObservation: look('2026-12-07T11:40:31.000Z') }, NOW), undefined);
  assert.equal(
    staleLookText({ ...every, lastObservation: look('2026-12-07T11:32:51.000Z') }, NOW),
    'no look for 10m 9s (it looks every 1m): is a control worker running and keeping up? `fineflow dev status` ' +
      'lists the pools with a worker',
  );
  assert.equal(staleLookText(every, NOW), undefined, 'no look yet is said elsewhere');
});

test('a failed look says why, whatever its age', () => {
  const failure = { at: '2026-12-07T11:42:00.000Z', error: 'S3 AccessDenied' };
  assert.equal(
    staleLookText(
      { pollIntervalMs: 60_000, lastObservation: look('2026-12-07T11:42:00.000Z'), lastLookFailure: failure },
      NOW,
    ),
    'the last look failed: S3 AccessDenied',
  );
});

test("a failed look's error is bounded and names no credential: presigned URL, user:pass@ URL, access key", () => {
  const presigned =
    'GET https://minio.example/datasets/a.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE' +
    '%2F20261207%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=6f1e2d answered 403 Forbidden';
  const redactedPresigned = 'GET https://minio.example/datasets/a.csv?redacted answered 403 Forbidden';
  assert.equal(lookFailureText(presigned), redactedPresigned);

  const tail = 'x'.repeat(500);
  const userinfo = `list s3://datasets/x/ via http://fineflow:s3cret-pw@minio.internal:9000/datasets failed ${tail}`;
  const bounded = lookFailureText(userinfo);
  assert.equal(bounded.length, 300);
  assert.ok(bounded.startsWith('list s3://datasets/x/ via http://redacted@minio.internal:9000/datasets failed xxx'));
  assert.ok(bounded.endsWith('x…'));
  assert.doesNotMatch(bounded, /s3cret-pw|fineflow:/);

  const accessKey =
    'InvalidAccessKeyId: access key AKIAIOSFODNN7EXAMPLE is not known; credentials ' +
    '{"accessKey":"AKIAI44QH8DHBEXAMPLE","secretKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"} ' +
    'secretKey=minio-secret-1';
  const text = lookFailureText(accessKey);
  assert.doesNotMatch(text, /AKIA|wJalrX|minio-secret-1/);
  assert.equal(
    text,
    'InvalidAccessKeyId: access key redacted is not known; credentials ' +
      '{"accessKey":"redacted","secretKey":"redacted"} secretKey=redacted',
  );
});
