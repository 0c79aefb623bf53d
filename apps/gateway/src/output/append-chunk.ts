import { redisKeys, type ChunkFrame } from '@cordon/protocol';
import { Command, type Redis } from 'ioredis';
import { APPEND_AFTER_LUA, APPEND_BEFORE_LUA } from './append-script.ts';
import { DirectBufferCommand } from './direct-buffer-command.ts';

export interface AppendTarget {
  readonly nodeId: string;
  readonly maxEntries: number;
  readonly ttlMs: number;
}

/**
 * Stores one chunk with the transaction described in append-script.ts and resolves with the
 * after-script's APPEND_RESULT code; rejects when the transaction did not run (connection lost,
 * EXECABORT). The five commands are written in one synchronous call, so nothing else sent on this
 * connection can land inside the transaction.
 */
export async function appendChunk(redis: Redis, t: AppendTarget, m: ChunkFrame): Promise<unknown> {
  const execKey = redisKeys.exec(m.execId);
  const streamKey = redisKeys.execOutput(m.execId);
  const scratch = redisKeys.appendScratch();
  const send = (c: Command): Promise<unknown> => {
    redis.sendCommand(c); // returns c.promise
    return c.promise;
  };
  // One writev for the five commands instead of one write each (the XADD's own cork is nested).
  const socket = redis.status === 'ready' ? redis.stream : null;
  socket?.cork();
  const queued = [
    send(new Command('multi', [])),
    send(new Command('eval', [APPEND_BEFORE_LUA, 2, streamKey, scratch])),
    send(
      new DirectBufferCommand('xadd', [
        streamKey,
        `${m.seq}-0`,
        'k',
        'chunk',
        's',
        m.stream,
        'd',
        m.data,
      ]),
    ),
    send(
      new Command('eval', [
        APPEND_AFTER_LUA,
        3,
        execKey,
        streamKey,
        scratch,
        t.nodeId,
        m.seq,
        t.maxEntries,
        t.ttlMs,
      ]),
    ),
  ];
  const exec = send(new Command('exec', []));
  socket?.uncork();
  // Their failures show in EXEC's reply (or its rejection).
  for (const q of queued) q.catch(() => undefined);
  const replies = await exec;
  if (!Array.isArray(replies) || replies.length !== 3) {
    throw new Error(`unexpected EXEC reply to an output append: ${String(replies)}`);
  }
  const code: unknown = replies[2];
  if (code instanceof Error) throw code;
  return code;
}
