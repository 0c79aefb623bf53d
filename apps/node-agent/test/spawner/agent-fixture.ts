// Child process of remote.int.test.ts: a stand-in node agent that keeps its spawner busy (stdio
// descriptors in flight most of the time) until it is killed.
import { RemoteSpawner } from '../../src/spawner/remote.ts';

const s = new RemoteSpawner();
s.start();
process.send?.({ spawner: s.pid });
for (;;) {
  const ps = await Promise.all(
    Array.from({ length: 4 }, () =>
      s.spawn({
        file: '/usr/bin/setpriv',
        args: ['--pdeathsig', 'KILL', '--', '/bin/sleep', '100'],
        env: { PATH: '/usr/bin:/bin' },
        stdin: 'pipe',
      }),
    ),
  );
  for (const p of ps) p.kill('SIGKILL');
}
