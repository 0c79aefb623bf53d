// Reads a terminal session's input stream (gateway → Redis → here) in order and applies it to the
// PTY. One blocking connection per open terminal: terminals are interactive and few, and a
// dedicated connection keeps one slow terminal from delaying another's keystrokes.
import {
  decodeTerminalInput,
  logRedisErrors,
  redisKeys,
  type TerminalInput,
} from '@cordon/protocol';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** How long one XREAD blocks before the loop checks whether it should stop. */
const BLOCK_MS = 2_000;

export interface PtyInputReader {
  /** Stops reading and closes the connection; resolves when the loop has ended. */
  stop(): Promise<void>;
}

type XReadReply = [key: Buffer, entries: [id: Buffer, fields: Buffer[]][]][] | null;

export function readTerminalInput(
  redis: Redis,
  sessionId: string,
  apply: (input: TerminalInput) => void,
  log: Logger,
): PtyInputReader {
  const key = redisKeys.sessionInput(sessionId);
  const conn = redis.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true });
  logRedisErrors(conn, log, 'terminal input');
  let stopping = false;
  // '0': input typed while the node was still opening the terminal is already in the stream.
  let lastId = '0';
  const loop = (async () => {
    while (!stopping) {
      let reply: XReadReply;
      try {
        reply = await conn.xreadBuffer('BLOCK', BLOCK_MS, 'STREAMS', key, lastId);
      } catch (err) {
        if (stopping) return;
        log.warn({ sessionId, err }, 'reading terminal input failed; retrying');
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const entries = reply?.[0]?.[1] ?? [];
      if (!entries.length) continue;
      for (const [id, fields] of entries) {
        lastId = id.toString();
        const input = decodeTerminalInput(fields);
        if (input) apply(input);
      }
      // Consumed entries leave the stream, so its length is the unread backlog the gateway bounds.
      await conn.xdel(key, ...entries.map(([id]) => id)).catch(() => 0);
    }
  })();
  return {
    async stop() {
      stopping = true;
      conn.disconnect();
      await loop;
    },
  };
}
