/**
 * Entry point of the training child process (forked by child-runner.ts with `--import tsx`).
 * It is an edge: it reads the Fineflow config from the environment to open the store, unless
 * the parent names a store factory.
 */
import { loadConfig } from '../../config';
import { ensureError, FineflowError } from '../../core/errors';
import { createObjectStoreFromConfig } from '../../storage/minio-store';
import { createOutboundPolicy, installOutboundPolicy } from '../../security/outbound';
import type { ObjectStore } from '../../storage/object-store';
import type { ChildMessage, ParentMessage, StoreFactoryReference } from './child-runner';
import { trainModel } from './fine-tune';
import { fencedTrainingStore } from './training-fence';

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) resolve();
    else process.send(message, undefined, {}, () => resolve());
  });
}

async function openStore(reference: StoreFactoryReference | undefined): Promise<ObjectStore> {
  if (reference) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const factory = (require(reference.modulePath) as Record<string, (options: unknown) => ObjectStore>)[
      reference.exportName
    ];
    if (typeof factory !== 'function')
      throw new Error(`${reference.modulePath} does not export a function ${reference.exportName}`);
    return factory(reference.options);
  }
  return createObjectStoreFromConfig(loadConfig());
}

async function run(message: ParentMessage): Promise<void> {
  try {
    // The parent's policy, else this process's config: never an open one by default.
    installOutboundPolicy(createOutboundPolicy(message.outbound ?? loadConfig().outbound));
    const store = fencedTrainingStore(await openStore(message.store), message.fence, (line) => console.error(line));
    const result = await trainModel(store, message.request, {
      onEpoch: (progress) => send({ type: 'progress', progress }),
    });
    await send({ type: 'result', result });
  } catch (thrown) {
    const error = ensureError(thrown);
    await send({
      type: 'error',
      error: {
        message: error.message,
        ...(error instanceof FineflowError ? { type: error.type, details: { ...error.details } } : {}),
      },
    });
  }
  process.disconnect?.();
  process.exit(0);
}

process.once('message', (message: ParentMessage) => {
  if (message.type === 'start') void run(message);
});
// The parent going away (worker killed) must not leave an orphan burning CPU.
process.on('disconnect', () => process.exit(0));
