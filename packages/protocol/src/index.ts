export { ERROR_CODES, isErrorCode, type ErrorCode } from './errors.ts';
export { ErrorInfoSchema, type ErrorInfo } from './error-info.ts';
export {
  ExecIdSchema,
  ID_PATTERN,
  IdSchema,
  NodeIdSchema,
  SandboxIdSchema,
  TenantIdSchema,
} from './ids.ts';
export {
  DEFAULT_LIMITS,
  LimitsOverrideSchema,
  LimitsSchema,
  MAX_TIMEOUT_MS,
  mergeLimits,
  type Limits,
  type LimitsInput,
  type LimitsOverride,
} from './limits.ts';
export {
  COMMIT_MODES,
  COMMIT_POLICIES,
  DEFAULT_QUOTA_BYTES,
  MAX_IDLE_TIMEOUT_MS,
  NETWORK_MODES,
  SANDBOX_STATES,
  SandboxCreateInputSchema,
  SandboxIdInputSchema,
  SandboxListInputSchema,
  SandboxRecordSchema,
  type CommitMode,
  type CommitPolicy,
  type NetworkMode,
  type SandboxCreateInput,
  type SandboxCreateRequest,
  type SandboxRecord,
  type SandboxState,
} from './sandbox.ts';
export {
  CommitSummarySchema,
  DEFAULT_WAIT_MS,
  DenialSummarySchema,
  EXEC_KINDS,
  EXEC_STATUSES,
  HandlerOutcomeSchema,
  MAX_DENIAL_SAMPLE,
  ExecIdInputSchema,
  ExecIdResponseSchema,
  ExecInputSchema,
  ExecOutcomeSchema,
  ExecRecordSchema,
  ExecResultSchema,
  ExecWaitInputSchema,
  MAX_ARGV_ITEMS,
  MAX_ARG_BYTES,
  MAX_ENV_ENTRIES,
  MAX_STDIN_BYTES,
  MAX_WAIT_MS,
  TERMINAL_EXEC_STATUSES,
  isTerminalExecStatus,
  type CommitSummary,
  type DenialSummary,
  type ExecKind,
  type HandlerOutcome,
  type ExecInput,
  type ExecOutcome,
  type ExecRecord,
  type ExecRequest,
  type ExecResult,
  type ExecStatus,
} from './exec.ts';
export { ExecRequestWireSchema, type ExecRequestWire } from './exec-wire.ts';
export {
  ChunkDataSchema,
  ExecOutputInputSchema,
  MAX_CHUNK_BASE64_CHARS,
  MAX_CHUNK_BYTES,
  OUTPUT_STREAMS,
  OutputChunkSchema,
  OutputEventSchema,
  decodeChunk,
  type OutputChunk,
  type OutputEvent,
  type OutputStream,
} from './output.ts';
export {
  NODE_STATUSES,
  NodeInfoSchema,
  NodeRecordSchema,
  type NodeInfo,
  type NodeRecord,
  type NodeStatus,
} from './node.ts';
export * from './jobs.ts';
export {
  CLUSTER_WS_PATH,
  GatewayToNodeSchema,
  NODE_ID_HEADER,
  NodeToGatewaySchema,
  type GatewayToNode,
  type NodeToGateway,
} from './cluster-wire.ts';
export {
  decodeChunkFrame,
  encodeChunkFrame,
  MAX_CHUNK_FRAME_BYTES,
  writeChunkFrameHeader,
  type ChunkFrame,
} from './chunk-frame.ts';
export {
  OUTPUT_BINARY_QUERY,
  chunkEventOf,
  decodeOutputFrame,
  encodeOutputFrame,
} from './ws-output-frame.ts';
export * from './session.ts';
export * from './terminal-input.ts';
export * from './codebase.ts';
export * from './audit.ts';
export { isJsonValue, JsonValueSchema, type JsonValue } from './json.ts';
export {
  MAX_EXPLAIN_PATHS,
  PolicyExplainInputSchema,
  PolicyValidateInputSchema,
} from './policy-api.ts';
export {
  BULL_PREFIX,
  FINALIZE_EXEC_LUA,
  RESERVE_EXEC_LUA,
  FINAL_RECORD_TTL_MS,
  SANDBOX_TRANSITION_LUA,
  START_EXEC_LUA,
  STATE_TRANSITION_LUA,
  jobId,
  logRedisErrors,
  nodeControlQueueName,
  nodeQueueName,
  redisKeys,
  seqOfStreamId,
  streamId,
} from './redis.ts';
export {
  parseRedisUrl,
  redisConnectionFromEnv,
  RedisUrlSchema,
  type RedisConnection,
} from './redis-connection.ts';
