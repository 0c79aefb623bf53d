/**
 * Appends one chunk to an exec's output stream, strictly in seq order. The gateway pipelines these
 * calls (it does not wait for one reply before sending the next), so a failed call must not let a
 * later seq in ahead of it: a seq that is not exactly last + 1 is refused, and the node resends
 * from its first unacknowledged chunk after the gateway drops the connection.
 *
 * The last stored seq is kept in the exec hash (`outSeq`), not read back from the stream: an
 * XREVRANGE returns the previous chunk's data too, and copying up to 256 KiB into Lua for every
 * chunk was ~30 % of Redis's CPU while streaming.
 *
 * KEYS: exec hash, output stream. ARGV: nodeId, seq, stream, data, maxLen, ttlMs.
 * Returns 1 stored, 0 duplicate (already stored), -1 exec not running (stop sending), -2 the exec
 * belongs to another node, -3 out of order (an earlier seq is missing).
 */
export const APPEND_IN_ORDER_LUA = `
local h = redis.call('HMGET', KEYS[1], 'status', 'nodeId', 'outSeq')
if h[2] ~= ARGV[1] then return -2 end
if h[1] ~= 'running' then return -1 end
local seq = tonumber(ARGV[2])
local lastSeq = tonumber(h[3]) or 0
if lastSeq >= seq then return 0 end
if seq ~= lastSeq + 1 then return -3 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], ARGV[2] .. '-0', 'k', 'chunk', 's', ARGV[3], 'd', ARGV[4])
redis.call('HSET', KEYS[1], 'outSeq', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return 1
`;

export const APPEND_RESULT = { stored: 1, duplicate: 0, notRunning: -1, wrongNode: -2, gap: -3 };
