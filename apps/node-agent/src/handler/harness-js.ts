// The JavaScript handler harness, shipped into the sandbox as harness.mjs and run with the system
// node (>= 20.10, which cannot strip types — hence plain JavaScript, kept here as text):
//   node --experimental-detect-module --disable-warning=ExperimentalWarning <dir>/harness.mjs
// <dir> (read-only) holds handler.js (the user's code, ESM or CommonJS: detected from its syntax)
// and event.json. The outcome goes to fd 6 as one JSON document, never to stdout/stderr, so
// nothing the handler prints can be taken for it:
//   {"ok": true, "result": <json>}  or  {"ok": false, "error": {"type", "message", "stack"}}
// (The text must not contain backticks or dollar-brace: it is a template literal.)
export const HARNESS_JS = String.raw`import fs from 'node:fs';

const RESULT_FD = 6;
const dir = new URL('.', import.meta.url);
let done = false;

function emit(text) {
  if (done) return;
  done = true;
  const data = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < data.length) {
    try {
      off += fs.writeSync(RESULT_FD, data, off);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
    }
  }
  fs.closeSync(RESULT_FD);
  // Timers or sockets the handler left open do not keep the invocation alive (as on Lambda).
  // stdout/stderr are synchronous for pipes and sockets on Linux, so nothing printed is lost.
  process.exit(0);
}

function failure(type, message, stack) {
  emit(JSON.stringify({ ok: false, error: { type, message, stack } }));
}

// The stack without the harness's and Node's own frames.
function userStack(stack) {
  return String(stack ?? '')
    .split('\n')
    .filter((line) => !/^\s+at .*(harness\.mjs|node:internal)/.test(line))
    .join('\n');
}

function describe(err) {
  if (err instanceof Error) return { type: err.name || 'Error', message: String(err.message), stack: userStack(err.stack) };
  let message;
  try {
    message = typeof err === 'string' ? err : JSON.stringify(err) ?? String(err);
  } catch {
    message = String(err);
  }
  return { type: 'NonErrorThrown', message: 'the handler threw a non-Error value: ' + message, stack: '' };
}

function fail(err) {
  const { type, message, stack } = describe(err);
  failure(type, message, stack);
}

// Failures after the handler returned (a rejected promise nobody awaited) still end the run.
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

async function main() {
  const event = JSON.parse(fs.readFileSync(new URL('event.json', dir), 'utf8'));
  const mod = await import(new URL('handler.js', dir).href);
  const handler = typeof mod.handler === 'function' ? mod.handler : mod.default?.handler;
  if (typeof handler !== 'function') {
    failure('HandlerNotFound', 'the code must export a function handler(event) (export function handler, or module.exports.handler)', '');
    return;
  }
  const result = await handler(event);
  let encoded;
  try {
    encoded = result === undefined ? 'null' : JSON.stringify(result);
  } catch (err) {
    failure('ResultNotSerializable', "the handler's result is not JSON-serialisable: " + err.message, '');
    return;
  }
  if (encoded === undefined) {
    failure('ResultNotSerializable', "the handler's result is not JSON-serialisable: a " + typeof result + ' has no JSON form', '');
    return;
  }
  emit('{"ok":true,"result":' + encoded + '}');
}

main().catch(fail);
`;
