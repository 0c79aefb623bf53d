// Lambda-style handler execution in the sandbox. See docs/sessions.md ("Handlers").
export {
  runHandler,
  DEFAULT_HANDLER_TIMEOUT_MS,
  DEFAULT_MAX_RESULT_BYTES,
  HANDLER_DIR,
} from './run-handler.ts';
export type {
  HandlerLanguage,
  HandlerOptions,
  HandlerRequest,
  HandlerResult,
} from './run-handler.ts';
export type { HandlerError, HandlerFailure } from './result.ts';
