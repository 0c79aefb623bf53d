// Two agents share one codebase with different policies: a read-only reviewer and a writer that
// may change only src/. Shows live output, commits, a conflict and denied accesses.
//
//   cordon up                                   # in another terminal
//   node examples/two-agents.ts [DIR]           # DIR defaults to a copy of examples/project
//
// Uses CORDON_URL + CORDON_TOKEN when set, else the cluster.json of a running `cordon up`.
import { cp, mkdtemp, readFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { createCordon, type RunResult } from '@cordon/client';

async function connection(): Promise<{ url: string; token: string }> {
  const url = process.env['CORDON_URL'];
  const token = process.env['CORDON_TOKEN'];
  if (url && token) return { url, token };
  const home =
    process.env['CORDON_HOME'] ??
    (process.env['XDG_STATE_HOME']
      ? path.join(process.env['XDG_STATE_HOME'], 'cordon')
      : path.join(homedir(), '.cordon'));
  try {
    return JSON.parse(await readFile(path.join(home, 'cluster.json'), 'utf8')) as {
      url: string;
      token: string;
    };
  } catch {
    throw new Error('no Cordon gateway: run `cordon up` first, or set CORDON_URL and CORDON_TOKEN');
  }
}

function report(who: string, r: RunResult): void {
  const c = r.commit;
  const commit = c
    ? `+${c.added} ~${c.modified} -${c.deleted}, ${c.conflicts} conflict(s)`
    : 'nothing committed';
  const denied = r.denials.sample.map((d) => `${d.op} ${d.path} (${d.level} < ${d.required})`);
  console.log(
    `[${who}] exit ${r.exitCode} · ${commit} · ${r.denials.count} denial(s) ${denied.join(', ')}`,
  );
}

const dir =
  process.argv[2] ??
  (await (async () => {
    // Work on a copy so the example can run again and again.
    const d = await mkdtemp(path.join(tmpdir(), 'cordon-two-agents-'));
    await cp(path.join(import.meta.dirname, 'project'), d, { recursive: true });
    return d;
  })());
console.log(`codebase: ${dir}`);

await using cordon = createCordon(await connection());

// The writer may change src/ only; everything else stays readable, secrets stay invisible.
await using writer = await cordon.sandbox.fromLocal(dir, {
  preset: 'agent-safe',
  rules: ['/src/**=write@20'],
  limits: { memoryBytes: 512 * 1024 ** 2, cpuMillicores: 1000, pids: 128 },
});
// The reviewer reads the same codebase (the same directory, so it sees the writer's commits).
await using reviewer = await cordon.sandbox.fromLocal(dir, {
  preset: 'read-only',
  rules: ['**/.env*=none@100', '**/secrets/**=none@100'],
});

// 1. Live output: the writer runs a small "agent" step and we print its output as it arrives.
const step = writer.exec([
  'sh',
  '-c',
  'for f in src/*.py; do echo "editing $f"; sleep 0.3; done; echo "# reviewed" >> src/greet.py',
]);
for await (const ev of step) if (ev.kind === 'stdout') process.stdout.write(`[writer] ${ev.text}`);
const stepResult = await step.result;
console.log(`[writer] committed: ${JSON.stringify(stepResult.commit)}`);

// 2. The reviewer sees the commit, and cannot change anything or read the secrets.
report(
  'reviewer',
  await reviewer.run('tail -n 2 src/greet.py; ls -a; cat .env; echo "LGTM" > REVIEW.md'),
);

// 3. The writer may not write outside src/, and secrets do not exist for it either.
report('writer', await writer.run('echo hacked > README.md; cat secrets/deploy.key; ls secrets'));

// 4. A conflict: two execs of the writer's sandbox and a second writer change the same file;
//    the later commit wins (lww) and reports the conflict.
await using writer2 = await cordon.sandbox.fromLocal(dir, {
  preset: 'agent-safe',
  rules: ['/src/**=write@20'],
});
const slow = writer.run('cat src/greet.py > /dev/null; sleep 1; echo "# writer 1" >> src/greet.py');
await new Promise((r) => setTimeout(r, 300));
report('writer2', await writer2.run('echo "# writer 2" >> src/greet.py'));
report('writer', await slow);
console.log(
  (await readFile(path.join(dir, 'src', 'greet.py'), 'utf8')).split('\n').slice(-4).join('\n'),
);
