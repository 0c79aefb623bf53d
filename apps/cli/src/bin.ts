#!/usr/bin/env node
import { main } from './program.ts';

// No process.exit: every command closes what it opened, so the process ends on its own once the
// output is flushed (a handle left open is a bug to fix where it is opened).
process.exitCode = await main(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
});
