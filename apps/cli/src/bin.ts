#!/usr/bin/env node
import { main } from './program.ts';

const code = await main(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
});
// Exit explicitly once stdout and stderr are flushed: a lingering socket or timer of a service
// client must never keep a finished command alive.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
