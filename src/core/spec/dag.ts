/**
 * Graph checks on stage dependencies: topological levels and cycles. Pure and
 * workflow-safe; used by validation, plan compilation and plan re-validation.
 */

export interface TopologicalResult {
  /** Stages in topological order, ties broken by id. */
  readonly order: readonly string[];
  /** Level N holds the stages whose dependencies are all in levels < N; each level sorted. */
  readonly levels: readonly (readonly string[])[];
  /** Stages that could not be ordered because they are on or behind a cycle. */
  readonly blocked: readonly string[];
}

/** Kahn's algorithm by levels. `deps` maps a stage to the stages it waits for; unknown ids are ignored. */
export function topologicalLevels(
  ids: readonly string[],
  deps: ReadonlyMap<string, readonly string[]>,
): TopologicalResult {
  const known = new Set(ids);
  const remaining = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const id of ids) {
    const own = [...new Set(deps.get(id) ?? [])].filter((d) => known.has(d));
    remaining.set(id, own.length);
    for (const d of own) {
      const list = dependents.get(d) ?? [];
      list.push(id);
      dependents.set(d, list);
    }
  }
  const levels: string[][] = [];
  const order: string[] = [];
  let current = ids.filter((id) => remaining.get(id) === 0).sort();
  while (current.length > 0) {
    levels.push(current);
    order.push(...current);
    const next: string[] = [];
    for (const id of current) {
      for (const dependent of dependents.get(id) ?? []) {
        const left = (remaining.get(dependent) as number) - 1;
        remaining.set(dependent, left);
        if (left === 0) next.push(dependent);
      }
    }
    current = next.sort();
  }
  const placed = new Set(order);
  return { order, levels, blocked: ids.filter((id) => !placed.has(id)).sort() };
}

/**
 * One cycle per strongly connected component that has one (a self-loop counts), each as the
 * list of stages starting and ending at its smallest id: `['a', 'b', 'a']`. Sorted.
 */
export function findCycles(ids: readonly string[], deps: ReadonlyMap<string, readonly string[]>): string[][] {
  const known = new Set(ids);
  const edgeLists = new Map(ids.map((id) => [id, [...new Set(deps.get(id) ?? [])].filter((d) => known.has(d)).sort()]));
  const edges = (id: string): string[] => edgeLists.get(id) ?? [];
  const cycles: string[][] = [];
  for (const component of stronglyConnectedComponents(ids, edges)) {
    const first = [...component].sort()[0] as string;
    if (component.length === 1 && !edges(first).includes(first)) continue;
    cycles.push(shortestCycle(first, new Set(component), edges));
  }
  return cycles.sort((a, b) => (a[0] as string).localeCompare(b[0] as string));
}

/** Tarjan's strongly connected components, iterative so a 10k-stage chain cannot overflow the stack. */
function stronglyConnectedComponents(ids: readonly string[], edges: (id: string) => string[]): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  const visit = (id: string): { id: string; next: number; out: string[] } => {
    index.set(id, counter);
    low.set(id, counter++);
    stack.push(id);
    onStack.add(id);
    return { id, next: 0, out: edges(id) };
  };
  for (const start of [...ids].sort()) {
    if (index.has(start)) continue;
    const work = [visit(start)];
    while (work.length > 0) {
      const frame = work[work.length - 1] as { id: string; next: number; out: string[] };
      if (frame.next < frame.out.length) {
        const target = frame.out[frame.next++] as string;
        if (!index.has(target)) work.push(visit(target));
        else if (onStack.has(target))
          low.set(frame.id, Math.min(low.get(frame.id) as number, index.get(target) as number));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.id, Math.min(low.get(parent.id) as number, low.get(frame.id) as number));
      if (low.get(frame.id) === index.get(frame.id)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop() as string;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.id);
        components.push(component);
      }
    }
  }
  return components;
}

/**
 * The shortest path from `first` back to itself inside its component (BFS), read in the direction a stage waits:
 * `deps` edges point from a stage to what it waits for.
 */
function shortestCycle(first: string, members: ReadonlySet<string>, edges: (id: string) => string[]): string[] {
  const previous = new Map<string, string>();
  const queue = [first];
  let found = false;
  while (queue.length > 0 && !found) {
    const id = queue.shift() as string;
    for (const target of edges(id)) {
      if (!members.has(target)) continue;
      if (target === first) {
        previous.set(first, id);
        found = true;
        break;
      }
      if (!previous.has(target)) {
        previous.set(target, id);
        queue.push(target);
      }
    }
  }
  const path = [first];
  let cursor = previous.get(first) as string;
  while (cursor !== first) {
    path.push(cursor);
    cursor = previous.get(cursor) as string;
  }
  path.push(first);
  return [path[0] as string, ...path.slice(1, -1).reverse(), first];
}

/** Stage → the stages that wait for it directly (the reverse of `deps`). */
export function dependentsOf(deps: ReadonlyMap<string, readonly string[]>): Map<string, string[]> {
  const dependents = new Map<string, string[]>();
  for (const [stage, own] of deps) {
    for (const d of own) {
      const list = dependents.get(d);
      if (list) list.push(stage);
      else dependents.set(d, [stage]);
    }
  }
  return dependents;
}

/** Every stage that (transitively) waits for `id`; pass `dependents` when asking repeatedly. */
export function downstreamOf(
  id: string,
  deps: ReadonlyMap<string, readonly string[]>,
  dependents: ReadonlyMap<string, readonly string[]> = dependentsOf(deps),
): Set<string> {
  const seen = new Set<string>();
  const queue = [id];
  while (queue.length > 0) {
    const current = queue.pop() as string;
    for (const next of dependents.get(current) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}
