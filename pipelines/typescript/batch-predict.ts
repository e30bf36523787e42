/** pipelines/batch-predict.yaml in TypeScript (test/unit/sdk/examples.test.ts checks the plans are identical). */
import { params, pipeline, stage } from '../../src/index';

const p = params({ model: 'registry://churn-mlp@latest', records: 's3://datasets/churn/incoming/' });
const predict = stage('predict', 'predict');

export default pipeline({
  metadata: {
    name: 'churn-batch-predict',
    description: 'Score a customer export with the registered churn model',
    labels: { team: 'growth' },
  },
  params: p,
  defaults: { pool: 'cpu', timeout: '30m' },
  stages: [
    predict.run({
      with: {
        model: p.ref.model,
        source: p.ref.records,
        format: 'csv',
        batchSize: 512,
        maxRecords: 5000000,
      },
    }),
  ],
});
