/**
 * Which buckets a command may create. The CLI's credentials may create dataset buckets, so `data push` to a mistyped
 * `s3://datsets/…` used to create `datsets` silently and push the data where no pipeline looks. A command now creates
 * only FINEFLOW_BUCKET and the dataset buckets of FINEFLOW_DATASET_BUCKETS; any other bucket must already exist.
 */
import { DEFAULT_DATASET_BUCKETS, type S3Config } from '../config';
import { InvalidInputError } from '../core/errors';
import { shownInput } from '../core/shown-input';
import { closest } from '../core/spec/suggest';
import type { BucketOptions } from './object-store';

/**
 * `ensureBucket`'s option for `bucket`: none when the configuration lets a command create it, else a refusal naming
 * the bucket given (and where from), the buckets expected and the fix.
 */
export function bucketCreation(
  bucket: string,
  s3: Pick<S3Config, 'bucket' | 'datasetBuckets'>,
  given: string,
): Pick<BucketOptions, 'refuseToCreate'> {
  const datasetBuckets = s3.datasetBuckets ?? DEFAULT_DATASET_BUCKETS;
  const expected = [s3.bucket, ...datasetBuckets];
  if (expected.includes(bucket) || datasetBuckets.includes('*')) return {};
  const near = closest(bucket, expected);
  const listed = [
    `${s3.bucket} (FINEFLOW_BUCKET)`,
    ...(datasetBuckets.length > 0 ? [`${datasetBuckets.join(', ')} (FINEFLOW_DATASET_BUCKETS)`] : []),
  ];
  return {
    refuseToCreate: () =>
      new InvalidInputError(
        `bucket ${shownInput(bucket)} (from ${shownInput(given)}) does not exist, and fineflow creates only the ` +
          `buckets it is configured for: ${listed.join(', ')}${near ? `; did you mean ${near}? ` : '. '}` +
          'Fix the bucket ' +
          `in the URI, or to make a new dataset bucket add it to FINEFLOW_DATASET_BUCKETS ` +
          `(e.g. FINEFLOW_DATASET_BUCKETS=${[...datasetBuckets, bucket].join(',')})`,
        { code: 'bucket-not-configured', bucket, expected, variable: 'FINEFLOW_DATASET_BUCKETS' },
      ),
  };
}
