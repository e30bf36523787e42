/**
 * The pipeline the Pipelines page opens with. It reads what `fineflow dev seed` pushes (MNIST digits, 28x28 grey, at
 * s3://datasets/mnist/), so on a seeded dev stack a new user's first Submit run succeeds; it read
 * s3://datasets/digits/, which nothing pushes, and its prepare stage failed on an empty prefix. Pure: no DOM.
 */
export const EXAMPLE_SOURCE = 's3://datasets/mnist/';

export const EXAMPLE_PIPELINE = `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: my-pipeline}
stages:
  prepare:
    uses: prepare-data
    with: {source: "${EXAMPLE_SOURCE}", format: image-folder, image: {size: [28, 28], channels: 1}}
`;
