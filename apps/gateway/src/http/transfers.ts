// Codebase transfers in flight on this gateway. A client's upload (PUT) or export (GET) waits
// here, unread, until the home node dials back (GET/PUT on the cluster transfer endpoint); then
// the two HTTP streams are piped into each other — bytes are never buffered whole, never stored
// in Redis, and backpressure runs end to end (TCP windows on both legs).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Transfer =
  | { readonly kind: 'upload'; readonly nodeId: string; readonly source: IncomingMessage }
  | { readonly kind: 'export'; readonly nodeId: string; readonly sink: ServerResponse };

interface Pending {
  readonly transfer: Transfer;
  readonly claimed: (ok: boolean) => void;
  readonly timer: NodeJS.Timeout;
}

export class Transfers {
  readonly #pending = new Map<string, Pending>();

  /**
   * Registers a transfer; resolves true once the node claimed it, false after `timeoutMs` (the
   * node never came) or when `cancel()` is called.
   */
  open(t: Transfer, timeoutMs: number): { id: string; claimed: Promise<boolean> } {
    const id = randomBytes(16).toString('hex');
    const claimed = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve(false);
      }, timeoutMs);
      this.#pending.set(id, { transfer: t, claimed: resolve, timer });
    });
    return { id, claimed };
  }

  /** The node's side: takes the transfer if it is waiting for this node. */
  claim(id: string, nodeId: string): Transfer | null {
    const p = this.#pending.get(id);
    if (!p || p.transfer.nodeId !== nodeId) return null;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    p.claimed(true);
    return p.transfer;
  }

  cancel(id: string): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    p.claimed(false);
  }

  close(): void {
    for (const id of [...this.#pending.keys()]) this.cancel(id);
  }
}
