/**
 * A one-stage pipeline YAML around a `hyperparameter-sweep` stage, for validation tests: `withLines` are added under
 * the stage's `with:` after its `space:` (indented six spaces by the caller), so they start at line 12 of the file.
 */
export function sweepPipelineYaml(withLines: string, name = 'sweep'): string {
  return `apiVersion: fineflow/v1
kind: Pipeline
metadata: {name: ${name}}
stages:
  sweep:
    uses: hyperparameter-sweep
    with:
      model: s3://fineflow/models/base/model.json
      data: s3://fineflow/data/manifest.json
      objective: {metric: validation.accuracy}
      space: {learningRate: {logUniform: [1.0e-4, 1.0e-2]}}
${withLines}
`;
}
