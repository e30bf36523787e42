/**
 * Admission by declared capacity (`fineflow worker --cpu/--memory/--gpu`). Temporal hands a
 * worker an activity slot before it polls, so the slot cannot know the stage it will get: the
 * worker's custom slot supplier stops taking tasks while the ledger is full or a taken stage waits
 * for room, and the stage runner acquires the stage's own `resources` from the ledger before the
 * stage starts (FIFO, so a large stage is not starved by small ones). A stage larger than the
 * whole worker fails at once as dependency-unavailable: the run retries it under its outage budget,
 * where another worker of the pool may take it, and `fineflow status` says no worker fits.
 */
import type { ActivitySlotInfo, CustomSlotSupplier, SlotPermit } from '@temporalio/worker';
import { DependencyUnavailableError } from '../core/errors';
import { describeResources, fits, shortfall, type PlannedResources, type WorkerCapacity } from '../core/spec/resources';

interface Waiter {
  readonly request: PlannedResources;
  readonly grant: () => void;
}

export class ResourceLedger {
  private used = { cpu: 0, memoryMb: 0, gpu: 0 };
  private readonly queue: Waiter[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(readonly capacity: WorkerCapacity) {}

  /** Capacity not held by running stages. */
  free(): WorkerCapacity {
    return {
      cpu: this.capacity.cpu - this.used.cpu,
      memoryMb: this.capacity.memoryMb - this.used.memoryMb,
      gpu: this.capacity.gpu - this.used.gpu,
    };
  }

  /** Stages taken by this worker that wait for room. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Whether a new task should be taken: nobody waits, and some CPU and memory are free. */
  hasRoom(): boolean {
    const free = this.free();
    return this.queue.length === 0 && free.cpu > 0 && free.memoryMb > 0;
  }

  /** Called whenever room may have appeared (the slot supplier waits on it). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Hold `request` until `release()`; waits (FIFO) while it does not fit the free capacity.
   * Throws DependencyUnavailableError when it can never fit this worker.
   */
  async acquire(request: PlannedResources, signal?: AbortSignal): Promise<() => void> {
    const short = shortfall(request, this.capacity);
    if (short.length > 0)
      throw new DependencyUnavailableError(
        `this worker cannot fit the stage: it asks for ${describeResources(request)}, the worker has ` +
          `${describeCapacity(this.capacity)} (${short.join(', ')} short); a larger worker of the pool must take it`,
        { request, capacity: this.capacity },
      );
    // The grant of a waiter takes its share before the waiter runs again, so the next one sees what is left.
    if (this.queue.length > 0 || !fits(request, this.free())) await this.wait(request, signal);
    else this.take(request, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.take(request, -1);
      this.grantWaiting();
    };
  }

  private wait(request: PlannedResources, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        request,
        grant: () => {
          signal?.removeEventListener('abort', abort);
          resolve();
        },
      };
      const abort = (): void => {
        const index = this.queue.indexOf(waiter);
        if (index >= 0) this.queue.splice(index, 1);
        this.grantWaiting();
        reject(signal?.reason instanceof Error ? signal.reason : new Error('cancelled while waiting for resources'));
      };
      if (signal?.aborted) return abort();
      signal?.addEventListener('abort', abort, { once: true });
      this.queue.push(waiter);
    });
  }

  /** Grant waiters in order while the first one fits. */
  private grantWaiting(): void {
    for (let head = this.queue[0]; head && fits(head.request, this.free()); head = this.queue[0]) {
      this.queue.shift();
      this.take(head.request, 1);
      head.grant();
    }
    for (const listener of [...this.listeners]) listener();
  }

  private take(request: PlannedResources, sign: 1 | -1): void {
    this.used = {
      cpu: this.used.cpu + sign * (request.cpu ?? 0),
      memoryMb: this.used.memoryMb + sign * (request.memoryMb ?? 0),
      gpu: this.used.gpu + sign * (request.gpu ?? 0),
    };
  }
}

export function describeCapacity(capacity: WorkerCapacity): string {
  return describeResources({ cpu: capacity.cpu, memoryMb: capacity.memoryMb, gpu: capacity.gpu });
}

/**
 * The activity slot supplier: at most `maxSlots` tasks at once (the worker's `--concurrency`), and
 * no new poll while the ledger has no room, so tasks stay on the queue for workers that have some.
 */
export function capacitySlotSupplier(ledger: ResourceLedger, maxSlots: number): CustomSlotSupplier<ActivitySlotInfo> {
  let held = 0;
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const waiter of [...waiters]) waiter();
  };
  ledger.onChange(wake);
  const canIssue = (): boolean => held < maxSlots && ledger.hasRoom();
  const issue = (): SlotPermit => {
    held++;
    return {};
  };
  return {
    type: 'custom',
    reserveSlot(_ctx, abortSignal) {
      if (canIssue()) return Promise.resolve(issue());
      return new Promise<SlotPermit>((resolve, reject) => {
        const check = (): void => {
          if (!canIssue()) return;
          waiters.delete(check);
          abortSignal.removeEventListener('abort', abort);
          resolve(issue());
        };
        // Reject with the signal's own reason: the SDK logs any other error of an aborted reservation as a
        // supplier fault ("Error in custom slot supplier"), although aborting is how a worker shuts down.
        const abort = (): void => {
          waiters.delete(check);
          reject(abortSignal.reason);
        };
        waiters.add(check);
        abortSignal.addEventListener('abort', abort, { once: true });
      });
    },
    tryReserveSlot() {
      return canIssue() ? issue() : null;
    },
    markSlotUsed() {},
    releaseSlot() {
      held--;
      wake();
    },
  };
}
