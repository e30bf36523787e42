import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../../src/core/errors';
import { asPrefixUri, confineToPrefix, formatS3Uri, joinS3Uri, parseS3Uri } from '../../../src/core/storage/uri';

function codeOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof InvalidInputError, `expected InvalidInputError, got ${String(error)}`);
    return error.details.code;
  }
  assert.fail('expected a throw');
}

void describe('parseS3Uri / formatS3Uri', () => {
  void it('splits bucket and key and formats back', () => {
    assert.deepEqual(parseS3Uri('s3://datasets/defects/train/a.png'), {
      bucket: 'datasets',
      key: 'defects/train/a.png',
    });
    assert.deepEqual(parseS3Uri('s3://datasets'), { bucket: 'datasets', key: '' });
    assert.deepEqual(parseS3Uri('s3://datasets/'), { bucket: 'datasets', key: '' });
    assert.equal(formatS3Uri(parseS3Uri('s3://b1b/x/y/')), 's3://b1b/x/y/');
  });
  void it('rejects other schemes and invalid bucket names', () => {
    assert.equal(
      codeOf(() => parseS3Uri('http://bucket/key')),
      'invalid-uri',
    );
    assert.equal(
      codeOf(() => parseS3Uri('s3://Bucket/key')),
      'invalid-uri',
    );
    assert.equal(
      codeOf(() => parseS3Uri('s3://ab/key')),
      'invalid-uri',
    );
    assert.equal(
      codeOf(() => parseS3Uri('s3:///key')),
      'invalid-uri',
    );
    assert.equal(
      codeOf(() => parseS3Uri(`s3://bucket/${'k'.repeat(1025)}`)),
      'invalid-uri',
    );
  });
});

void describe('joinS3Uri / asPrefixUri', () => {
  void it('joins with exactly one slash and keeps a trailing slash', () => {
    assert.equal(joinS3Uri('s3://b1b/runs/', 'r1', 'train/'), 's3://b1b/runs/r1/train/');
    assert.equal(joinS3Uri('s3://b1b/runs', '/r1/', '/model.json'), 's3://b1b/runs/r1/model.json');
    assert.equal(joinS3Uri('s3://b1b', 'a'), 's3://b1b/a');
  });
  void it('does not normalise `..` away', () => {
    assert.equal(joinS3Uri('s3://b1b/runs/r1/', '../r2/x'), 's3://b1b/runs/r1/../r2/x');
  });
  void it('turns a key into a prefix', () => {
    assert.equal(asPrefixUri('s3://b1b/a/b'), 's3://b1b/a/b/');
    assert.equal(asPrefixUri('s3://b1b/a/b/'), 's3://b1b/a/b/');
    assert.equal(asPrefixUri('s3://b1b'), 's3://b1b/');
  });
});

void describe('confineToPrefix', () => {
  const prefix = 's3://fineflow/runs/r1/train/';
  void it('accepts keys below the prefix, absolute or relative', () => {
    assert.deepEqual(confineToPrefix('s3://fineflow/runs/r1/train/model/weights.bin', prefix), {
      bucket: 'fineflow',
      key: 'runs/r1/train/model/weights.bin',
    });
    assert.deepEqual(confineToPrefix('metrics.json', prefix), {
      bucket: 'fineflow',
      key: 'runs/r1/train/metrics.json',
    });
    assert.deepEqual(confineToPrefix('metrics.json', 's3://fineflow/runs/r1/train'), {
      bucket: 'fineflow',
      key: 'runs/r1/train/metrics.json',
    });
  });
  void it('refuses escapes: .., ., //, absolute keys, other buckets, siblings, the prefix itself', () => {
    const escapes = [
      's3://fineflow/runs/r1/train/../../r2/train/model.json',
      '../evaluate/report.json',
      './x',
      'a//b',
      '/etc/passwd',
      's3://other-bucket/runs/r1/train/x',
      's3://fineflow/runs/r1/training/x',
      's3://fineflow/runs/r1/train/',
      'a\\..\\b',
    ];
    for (const uri of escapes)
      assert.equal(
        codeOf(() => confineToPrefix(uri, prefix)),
        'outside-prefix',
        uri,
      );
  });
});
