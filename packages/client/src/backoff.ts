/**
 * The client's one retry schedule: `firstMs` doubling per attempt, capped at 2 s — used by the
 * websocket's reconnects, output resubscriptions and execs.wait after a gateway gave no answer.
 */
export function backoffMs(attempt: number, firstMs = 100): number {
  return Math.min(2_000, firstMs * 2 ** attempt);
}
