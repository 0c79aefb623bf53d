import type { OutputEvent } from '@cordon/protocol';
import type { TestClient } from './client.ts';

/** Subscribes to an exec's output and resolves with every event up to and including `end`. */
export function collectOutput(
  c: TestClient,
  execId: string,
  lastEventId?: string,
  stopAfter?: number,
): Promise<{ events: OutputEvent[]; ids: string[] }> {
  return new Promise((resolve, reject) => {
    const events: OutputEvent[] = [];
    const ids: string[] = [];
    const sub = c.trpc.execs.output.subscribe(
      { execId, lastEventId: lastEventId ?? null },
      {
        onData: (ev) => {
          events.push(ev.data);
          ids.push(ev.id);
          if (ev.data.kind === 'end' || (stopAfter !== undefined && events.length >= stopAfter)) {
            sub.unsubscribe();
            resolve({ events, ids });
          }
        },
        onError: (err) => {
          sub.unsubscribe();
          reject(err);
        },
      },
    );
  });
}

export function textOf(events: readonly OutputEvent[], stream: 'stdout' | 'stderr'): string {
  return Buffer.concat(
    events.flatMap((e) =>
      e.kind === 'chunk' && e.stream === stream ? [Buffer.from(e.data, 'base64')] : [],
    ),
  ).toString('utf8');
}
