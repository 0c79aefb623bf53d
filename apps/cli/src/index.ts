export { main, buildProgram, type Io } from './program.ts';
export { CliError, EXIT, ExitCode, type CliErrorCode } from './errors.ts';
export { parseCpus, parseDuration, parseSize, parseCount } from './units.ts';
export {
  startLocalStack,
  type LocalStack,
  type LocalStackOptions,
  type ClusterInfo,
} from './stack/local-stack.ts';
export { startRedis } from './stack/redis.ts';
export { defaultDataDir, clusterFile, gatewayMain, nodeAgentMain } from './stack/paths.ts';
