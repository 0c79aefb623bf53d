export { startGateway, TRPC_PATH, type Gateway } from './server.ts';
export type { GatewayOptions } from './options.ts';
export type { AppRouter } from './router/index.ts';
export { GatewayError, TRPC_CODE_OF, type FieldIssue } from './errors.ts';
export type { ErrorData } from './format-error.ts';
export {
  createToken,
  hashToken,
  lookupToken,
  revokeToken,
  SCOPES,
  type Principal,
  type Scope,
} from './auth/tokens.ts';
export { pickNode } from './dispatch/placement.ts';
