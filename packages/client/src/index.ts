export { createCordon, type Cordon, type CordonOptions } from './cordon.ts';
export { Sandbox, type LocalBinding } from './sandbox.ts';
export { Session } from './session.ts';
export { Terminal } from './terminal.ts';
export { ExecHandle } from './exec-handle.ts';
export type { ExecEvent, OutputStreamOptions } from './output-stream.ts';
export {
  BadRequestError,
  ConflictError,
  CordonError,
  ForbiddenError,
  InternalError,
  LocalIoError,
  NodeLostError,
  NotFoundError,
  PolicyError,
  ResourceExhaustedError,
  TimeoutError,
  UnauthorizedError,
  UnavailableError,
  toCordonError,
  type CordonErrorCode,
  type CordonIssue,
} from './errors.ts';
export {
  createTransport,
  endpointsOf,
  type Endpoints,
  type Transport,
  type TransportOptions,
} from './transport.ts';
export { packDirectory } from './local/pack.ts';
export { applyTar } from './local/apply.ts';
export { walkLocal } from './local/walk.ts';
export type * from './types.ts';
