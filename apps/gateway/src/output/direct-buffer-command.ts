import { Command } from 'ioredis';
import type { Writable } from 'node:stream';

/**
 * A Redis command whose Buffer arguments go to the socket as they are. ioredis copies a command
 * with any Buffer argument into one new Buffer before writing it: for every 256 KiB output chunk
 * stored, a 256 KiB allocation and copy — a quarter of the gateway's allocations while
 * streaming, and allocation volume is what drives its garbage collections (V8 counts dead
 * buffers against the heap limit until they are collected).
 *
 * ioredis hands `toWritable` the connection's socket (its own EVALSHA fallback overrides it the
 * same way); the pieces written here and the tail ioredis writes with what we return go out
 * corked, as one writev. Send it with `redis.sendCommand` (a MULTI sent that way is fine), not
 * through ioredis's `pipeline()` or `multi()`, which collect `toWritable`'s result instead of
 * writing it to the socket. Commands queued while disconnected, and unanswered ones resent after
 * a reconnect, go through `sendCommand` again, so they take this path too.
 */
export class DirectBufferCommand extends Command {
  override toWritable(socket: object): string | Buffer {
    const out = socket as Writable;
    out.cork();
    process.nextTick(() => out.uncork());
    let text = `*${this.args.length + 1}\r\n$${Buffer.byteLength(this.name)}\r\n${this.name}\r\n`;
    for (const arg of this.args) {
      if (Buffer.isBuffer(arg)) {
        out.write(`${text}$${arg.length}\r\n`);
        out.write(arg);
        text = '\r\n';
      } else {
        const s = String(arg);
        text += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
      }
    }
    return text;
  }
}
