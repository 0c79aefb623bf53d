/**
 * Appending one chunk to an exec's output stream, strictly in seq order, is one transaction:
 *
 *   MULTI
 *   EVAL APPEND_BEFORE_LUA  — notes the stream's length
 *   XADD <stream> <seq>-0 k chunk s <stdout|stderr> d <bytes>
 *   EVAL APPEND_AFTER_LUA   — checks the append; keeps it, or undoes it
 *   EXEC
 *
 * The bytes go to XADD itself and never into Lua: a script argument is copied into a Lua string
 * and again into the command the script calls, which made the one-script append cost 530 µs of
 * Redis CPU per 256 KiB chunk (its XADD: 150) — 70 % of Redis's work while streaming.
 *
 * Why checked after the XADD rather than before: a transaction cannot skip a command, so the
 * check cannot stop the XADD; it undoes it instead (XDEL), and MULTI/EXEC means no reader ever
 * sees an entry that is undone. The undo also sets the stream's last id back (XSETID), else Redis
 * would refuse the seq that was missing when it arrives. Whether the XADD stored anything is read from the stream's
 * length (noted before it), so a failed XADD (duplicate id, out of memory) is never mistaken for
 * a stored chunk; only an entry above the last recorded seq is ever deleted (never the `end`
 * entry, never a chunk already stored).
 *
 * The gateway pipelines these transactions (it does not wait for one reply before sending the
 * next), so a failed one must not let a later seq in ahead of it: a seq that is not exactly
 * last + 1 is refused, and the node resends from its first unacknowledged chunk after the
 * gateway drops the connection. The last stored seq is kept in the exec hash (`outSeq`).
 */

/** KEYS: output stream, scratch key. Notes the stream's length (and which stream it is). */
export const APPEND_BEFORE_LUA = `
redis.call('SET', KEYS[2], redis.call('XLEN', KEYS[1]) .. ' ' .. KEYS[1])
`;

/**
 * KEYS: exec hash, output stream, scratch key. ARGV: nodeId, seq, maxLen, ttlMs.
 * Returns an APPEND_RESULT.
 *
 * Also correct when it runs without its transaction: ioredis resends the unanswered commands of
 * a connection that dropped, so a cut transaction can come back as a lone XADD and this script.
 * Then the scratch is missing (each run deletes it) and whether the chunk is stored is read from
 * the newest entry instead — a copy of up to 256 KiB into Lua, only on that path.
 */
export const APPEND_AFTER_LUA = `
local h = redis.call('HMGET', KEYS[1], 'status', 'nodeId', 'outSeq')
local seq = tonumber(ARGV[2])
local id = ARGV[2] .. '-0'
local lastSeq = tonumber(h[3]) or 0
local noted = redis.call('GET', KEYS[3])
redis.call('DEL', KEYS[3])
local added = nil
if noted then
  local len, key = string.match(noted, '^(%d+) (.+)$')
  if key == KEYS[2] then added = redis.call('XLEN', KEYS[2]) == tonumber(len) + 1 end
end
local topChecked, topIsChunk = false, false
local function topIsThisChunk()
  if topChecked then return topIsChunk end
  topChecked = true
  local t = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
  if #t == 0 or t[1][1] ~= id then return false end
  local f = t[1][2]
  for i = 1, #f, 2 do
    if f[i] == 'k' then
      topIsChunk = f[i + 1] == 'chunk'
      break
    end
  end
  return topIsChunk
end
local code = 1
if h[2] ~= ARGV[1] then code = -2
elseif h[1] ~= 'running' then code = -1
elseif lastSeq >= seq then code = 0
elseif seq ~= lastSeq + 1 then code = -3
elseif not added and not topIsThisChunk() then code = -4 end
if code == 1 then
  redis.call('HSET', KEYS[1], 'outSeq', ARGV[2])
  redis.call('XTRIM', KEYS[2], 'MAXLEN', '~', ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
  return 1
end
if seq > lastSeq and (added or (added == nil and topIsThisChunk())) then
  redis.call('XDEL', KEYS[2], id)
  local top = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
  if #top == 0 then redis.call('DEL', KEYS[2])
  else redis.call('XSETID', KEYS[2], top[1][1]) end
end
return code
`;

/**
 * 1 stored, 0 duplicate (already stored), -1 exec not running (stop sending), -2 the exec belongs
 * to another node, -3 out of order (an earlier seq is missing), -4 Redis refused the XADD.
 */
export const APPEND_RESULT = {
  stored: 1,
  duplicate: 0,
  notRunning: -1,
  wrongNode: -2,
  gap: -3,
  notStored: -4,
} as const;
