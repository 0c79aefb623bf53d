import type { Redis } from 'ioredis';

/** A Lua script run by its SHA (EVALSHA): the body crosses the socket once per connection. */
export interface LuaScript {
  /** Unique per script body; the command name defined on the connection. */
  readonly name: string;
  readonly keys: number;
  readonly lua: string;
}

type ScriptCall = (...args: (string | number | Buffer)[]) => Promise<unknown>;

/**
 * Runs `script` on `redis`. ioredis' defineCommand sends EVAL the first time on a socket and
 * EVALSHA afterwards, falling back to EVAL on NOSCRIPT. Defining is idempotent and per connection
 * object (no module state). The command is written synchronously, so it keeps its place in the
 * connection's order.
 */
export function runScript(
  redis: Redis,
  script: LuaScript,
  args: readonly (string | number | Buffer)[],
): Promise<unknown> {
  const target = redis as unknown as Record<string, ScriptCall | undefined>;
  if (target[script.name] === undefined) {
    redis.defineCommand(script.name, { numberOfKeys: script.keys, lua: script.lua });
  }
  return (target[script.name] as ScriptCall).apply(redis, [...args]);
}
