// Runs one commit or recovery in its own process, so a test can kill it with -9 (through the crash
// points of CORDON_COMMIT_CRASH_AT) and inspect what it left behind.
// Usage: node commit-child.ts commit|recover '<options as JSON>'
import { commitDelta, recoverCodebase } from '../../src/commit/index.ts';

const [action, json] = process.argv.slice(2);
const options = JSON.parse(json ?? '{}') as Parameters<typeof commitDelta>[0];
const result =
  action === 'commit'
    ? await commitDelta(options)
    : await recoverCodebase({ codebaseDir: options.codebaseDir, stateDir: options.stateDir });
process.stdout.write(JSON.stringify(result));
