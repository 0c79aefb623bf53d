import type { NodeInfo } from '@cordon/protocol';

/**
 * The live node with the most free exec slots (capacity − load); ties go to the node holding
 * fewer sandboxes, then to the smaller id so the choice is deterministic. Null when none is up.
 */
export function pickNode(nodes: readonly NodeInfo[]): NodeInfo | null {
  const live = nodes.filter((n) => n.status === 'up');
  live.sort(
    (a, b) =>
      b.capacity - b.load - (a.capacity - a.load) ||
      a.sandboxes - b.sandboxes ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return live[0] ?? null;
}
