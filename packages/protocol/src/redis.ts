// Redis is the shared state of gateways and node agents; these key names and scripts are the
// contract between them. Every script is a compare-and-set, so any number of gateways (and their
// janitors) can race on the same exec and exactly one terminal outcome wins.

const P = 'cordon';

export const redisKeys = {
  token: (sha256Hex: string) => `${P}:token:${sha256Hex}`,
  nodes: () => `${P}:nodes`,
  node: (nodeId: string) => `${P}:node:${nodeId}`,
  nodeAlive: (nodeId: string) => `${P}:node:${nodeId}:alive`,
  nodeExecs: (nodeId: string) => `${P}:node:${nodeId}:execs`,
  nodeSandboxes: (nodeId: string) => `${P}:node:${nodeId}:sandboxes`,
  nodeCancelChannel: (nodeId: string) => `${P}:node:${nodeId}:cancel`,
  sandbox: (sandboxId: string) => `${P}:sandbox:${sandboxId}`,
  tenantSandboxes: (tenantId: string) => `${P}:tenant:${tenantId}:sandboxes`,
  nodeSessions: (nodeId: string) => `${P}:node:${nodeId}:sessions`,
  nodeCodebases: (nodeId: string) => `${P}:node:${nodeId}:codebases`,
  codebase: (codebaseId: string) => `${P}:codebase:${codebaseId}`,
  tenantCodebases: (tenantId: string) => `${P}:tenant:${tenantId}:codebases`,
  /** Sandboxes created on a codebase (ids; entries of destroyed ones are removed lazily). */
  codebaseSandboxes: (codebaseId: string) => `${P}:codebase:${codebaseId}:sandboxes`,
  /** Capped list (LPUSH/LTRIM) of CommitRecord JSON, newest first. */
  sandboxCommits: (sandboxId: string) => `${P}:sandbox:${sandboxId}:commits`,
  session: (sessionId: string) => `${P}:session:${sessionId}`,
  /** Stream of a terminal session's input and resizes, in order (see terminal-input.ts). */
  sessionInput: (sessionId: string) => `${P}:session:${sessionId}:in`,
  /** Capped stream of a tenant's denial events (XADD MAXLEN ~). */
  tenantDenials: (tenantId: string) => `${P}:tenant:${tenantId}:denials`,
  exec: (execId: string) => `${P}:exec:${execId}`,
  execOutput: (execId: string) => `${P}:exec:${execId}:out`,
  /**
   * Scratch value a gateway's output-append transaction passes from one of its scripts to the
   * next (MULTI/EXEC runs them with nothing in between, so one key serves every append).
   */
  appendScratch: () => `${P}:append:scratch`,
  /** Pub/sub: messages `exec:<id>`, `sandbox:<id>`, `codebase:<id>`, `session:<id>` when those change state. */
  doneChannel: () => `${P}:done`,
} as const;

/**
 * BullMQ queue of one node: work for a node goes only to its own queue (affinity). BullMQ refuses
 * ':' in queue names, hence `cordon-node-<id>`; its keys live under BULL_PREFIX.
 */
export function nodeQueueName(nodeId: string): string {
  return `cordon-node-${nodeId}`;
}
/**
 * The node's control queue (sandbox create/destroy), separate so that a node whose exec slots are
 * all busy still creates and destroys sandboxes promptly.
 */
export function nodeControlQueueName(nodeId: string): string {
  return `cordon-node-${nodeId}-ctl`;
}
/** BullMQ job id of an exec / sandbox operation (BullMQ refuses ':' in custom ids). */
export function jobId(
  kind: 'exec' | 'create' | 'destroy' | 'codebase' | 'session' | 'transfer',
  id: string,
): string {
  return `${kind}-${id}`;
}
/** BullMQ key prefix, distinct from the state keys above. */
export const BULL_PREFIX = 'cordon-bull';

/** Output stream entry id of a seq: entries are `<seq>-0`, so Redis itself rejects duplicates. */
export function streamId(seq: number): string {
  return `${seq}-0`;
}
export function seqOfStreamId(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

/**
 * Settles an exec once. KEYS: exec hash, output stream, node exec set.
 * ARGV: status, resultJson, errorJson, endedAtMs, ttlMs, execId, allowedFrom ('any'|'queued').
 * Appends the `end` entry after the last chunk, so readers see it last. Returns 1 if it won.
 */
export const FINALIZE_EXEC_LUA = `
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return -1 end
if ARGV[7] == 'queued' then
  if st ~= 'queued' then return 0 end
elseif st ~= 'queued' and st ~= 'running' then
  return 0
end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'result', ARGV[2], 'error', ARGV[3], 'endedAtMs', ARGV[4])
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local seq = 1
if #last > 0 then seq = tonumber(string.match(last[1][1], '^(%d+)')) + 1 end
redis.call('XADD', KEYS[2], seq .. '-0', 'k', 'end', 'status', ARGV[1], 'result', ARGV[2], 'error', ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('SREM', KEYS[3], ARGV[6])
redis.call('PUBLISH', '${P}:done', 'exec:' .. ARGV[6])
return 1
`;

/**
 * A node claims an exec before running it, so a job handed out twice never runs twice.
 * KEYS: exec hash. ARGV: nodeId, startedAtMs. Returns 1 claimed, 0 not queued, -2 wrong node.
 */
export const START_EXEC_LUA = `
local h = redis.call('HMGET', KEYS[1], 'status', 'nodeId')
if h[2] ~= ARGV[1] then return -2 end
if h[1] ~= 'queued' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'running', 'startedAtMs', ARGV[2])
return 1
`;

/**
 * Creates an exec record if the node has room. KEYS: node exec set, exec hash.
 * ARGV: limit, execId, ttlMs, then field/value pairs. Returns 1 created, 0 node full.
 */
export const RESERVE_EXEC_LUA = `
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[2])
local fields = {}
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`;

/**
 * How long the record of a destroyed or failed sandbox, or a deleted or failed codebase, is kept
 * (`get` answers with its final state and error meanwhile); then it expires, so agents that
 * create and destroy sandboxes all day do not grow Redis for good. Listings drop expired ids
 * from their index (see the gateway's state/listing.ts).
 */
export const FINAL_RECORD_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Moves a sandbox between states. KEYS: sandbox hash, its commits list. ARGV: from ('*' = any
 * non-final), to, errorJson. A final state (destroyed, failed) starts both keys' expiry.
 * Returns 1 moved, 0 not in `from`.
 */
export const SANDBOX_TRANSITION_LUA = `
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return -1 end
if ARGV[1] == '*' then
  if st == 'destroyed' or st == 'lost' or st == 'failed' then return 0 end
elseif st ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'error', ARGV[3])
if ARGV[2] == 'destroyed' or ARGV[2] == 'failed' then
  redis.call('PEXPIRE', KEYS[1], ${FINAL_RECORD_TTL_MS})
  redis.call('PEXPIRE', KEYS[2], ${FINAL_RECORD_TTL_MS})
end
redis.call('PUBLISH', '${P}:done', 'sandbox:' .. redis.call('HGET', KEYS[1], 'id'))
return 1
`;

/**
 * Moves a codebase or session between states (same contract as SANDBOX_TRANSITION_LUA, on the
 * hash's `state` field). KEYS: hash. ARGV: from ('*' = any non-final), to, errorJson, channel prefix.
 * A codebase's final state (deleted, failed) starts its expiry (sessions expire on their own).
 */
export const STATE_TRANSITION_LUA = `
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return -1 end
if ARGV[1] == '*' then
  if st == 'deleted' or st == 'lost' or st == 'failed' or st == 'closed' then return 0 end
elseif st ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'error', ARGV[3])
if ARGV[4] == 'codebase' and (ARGV[2] == 'deleted' or ARGV[2] == 'failed') then
  redis.call('PEXPIRE', KEYS[1], ${FINAL_RECORD_TTL_MS})
end
redis.call('PUBLISH', '${P}:done', ARGV[4] .. ':' .. redis.call('HGET', KEYS[1], 'id'))
return 1
`;

/** What logRedisErrors needs of an ioredis connection and of a pino logger (structural types). */
interface ErrorSource {
  on(event: 'error', listener: (err: Error) => void): unknown;
}
interface WarnLog {
  warn(obj: object, msg: string): void;
}

/**
 * Gives a Redis connection an 'error' listener that logs at most one warning per `everyMs`.
 * Without one, ioredis prints an unstructured "Unhandled error event" with a stack on every
 * reconnect attempt while Redis is down; the connection keeps retrying either way.
 */
export function logRedisErrors(
  conn: ErrorSource,
  log: WarnLog,
  role: string,
  everyMs = 10_000,
  nowMs: () => number = Date.now,
): void {
  let lastMs = -Infinity;
  let suppressed = 0;
  conn.on('error', (err) => {
    const now = nowMs();
    if (now - lastMs < everyMs) {
      suppressed++;
      return;
    }
    lastMs = now;
    log.warn({ role, err: err.message, suppressed }, 'redis connection error; retrying');
    suppressed = 0;
  });
}
