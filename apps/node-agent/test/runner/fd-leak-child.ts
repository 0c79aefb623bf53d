// Child process of fd-leak.int.test.ts: started with a descriptor it did not open (as a node agent
// started by a careless parent would be), it runs a sandboxed command that lists its descriptors
// and tries to read through the inherited one, and prints what the command saw.
import { run, setupTestHost } from './helpers.ts';

const t = await setupTestHost();
try {
  const r = await t.sandbox();
  const out = await run(r, ['bash', '-c', 'ls /proc/self/fd; cat /proc/self/fd/40 && echo LEAKED']);
  process.stdout.write(JSON.stringify({ stdout: out.stdout, stderr: out.stderr }));
} finally {
  await t.cleanup();
}
