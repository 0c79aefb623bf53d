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

/** True when `dir` equals or lies below one of `prefixes` (component boundaries). Pure. */
export function pathAllowed(dir: string, prefixes: readonly string[]): boolean {
  return prefixes.some(
    (p) => p === '/' || dir === p || dir.startsWith(p.endsWith('/') ? p : `${p}/`),
  );
}

/**
 * For a host-path codebase: the named node (if given) or else the live node with most free
 * capacity among those whose allow-list covers `dir`. The node re-checks after resolving
 * symlinks (the gateway only sees the string). Null when none fits.
 */
export function pickNodeForPath(
  nodes: readonly NodeInfo[],
  dir: string,
  nodeId?: string,
): NodeInfo | null {
  const candidates = nodes.filter(
    (n) => (nodeId === undefined || n.id === nodeId) && pathAllowed(dir, n.allowPaths),
  );
  return pickNode(candidates);
}
