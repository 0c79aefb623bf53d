import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, PolicyError, type ExecEvent } from '@cordon/client';
import { startTestStack, type TestStack } from './helpers/stack.ts';

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack();
});
afterAll(async () => {
  await t?.close();
});

async function project(): Promise<string> {
  const dir = await mkdtemp(path.join(t.dir, 'project-'));
  await mkdir(path.join(dir, 'src'));
  await mkdir(path.join(dir, 'secrets'));
  await writeFile(path.join(dir, 'src', 'a.txt'), 'hello\n');
  await writeFile(path.join(dir, '.env'), 'API_KEY=hunter2\n');
  await writeFile(path.join(dir, 'secrets', 'key.pem'), 'PRIVATE\n');
  await writeFile(path.join(dir, '.gitignore'), 'build/\n');
  await mkdir(path.join(dir, 'build'));
  await writeFile(path.join(dir, 'build', 'big.bin'), 'ignored\n');
  return dir;
}

describe('client → gateway → node agent', () => {
  it('streams live output in order and resolves the result', async () => {
    await using sb = await t.cordon.sandbox.create({ preset: 'agent-safe' });
    const h = sb.exec([
      'sh',
      '-c',
      'for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.1; done; exit 3',
    ]);
    const events: ExecEvent[] = [];
    for await (const ev of h) events.push(ev);
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const text = (k: 'stdout' | 'stderr') =>
      events.flatMap((e) => (e.kind === k ? [e.text] : [])).join('');
    expect(text('stdout')).toBe('out1\nout2\nout3\n');
    expect(text('stderr')).toBe('err1\nerr2\nerr3\n');
    const r = await h.result;
    expect(r.exitCode).toBe(3);
    expect(r.timedOut).toBe(false);
  });

  it('run() returns stdout, stderr and exit code; timeoutMs kills and reports timedOut', async () => {
    await using sb = await t.cordon.sandbox.create({ preset: 'agent-safe' });
    const r = await sb.run('echo hi; echo oops >&2');
    expect(r).toMatchObject({ exitCode: 0, stdout: 'hi\n', stderr: 'oops\n', timedOut: false });
    const slow = await sb.run(['sleep', '30'], { timeoutMs: 500 });
    expect(slow.timedOut).toBe(true);
  });

  it('cancel() stops a running command', async () => {
    await using sb = await t.cordon.sandbox.create({ preset: 'agent-safe' });
    const h = sb.exec(['sleep', '30']);
    await h.id;
    await h.cancel();
    const r = await h.result;
    expect(r.canceled).toBe(true);
  });

  it('resumes a stream after a given seq, and across a gateway restart', async () => {
    await using sb = await t.cordon.sandbox.create({ preset: 'agent-safe' });
    const h = sb.exec(['sh', '-c', 'for i in $(seq 1 12); do echo line$i; sleep 0.25; done']);
    const seen: number[] = [];
    let lines = '';
    let restarted = false;
    for await (const ev of h) {
      if (ev.kind === 'gap') continue;
      seen.push(ev.seq);
      lines += ev.text;
      if (!restarted && seen.length === 3) {
        restarted = true;
        await t.stack.restartGateway();
      }
    }
    expect(lines).toBe(Array.from({ length: 12 }, (_, i) => `line${i + 1}\n`).join(''));
    expect(new Set(seen).size).toBe(seen.length);
    // An explicit resume point: only what came after it.
    const tail: number[] = [];
    for await (const ev of h.events({ afterSeq: 10 })) tail.push(ev.seq);
    expect(tail).toEqual(seen.filter((s) => s > 10));
  });

  it('errors are typed classes with a how-to-fix message', async () => {
    await expect(t.cordon.sandbox.get('sb_doesnotexist')).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.cordon.sandbox.create({ rules: ['/src/**=admin'] })).rejects.toBeInstanceOf(
      PolicyError,
    );
  });

  it('fromLocal in place: commits land in the directory; secrets stay invisible', async () => {
    const dir = await project();
    await using sb = await t.cordon.sandbox.fromLocal(dir, {
      preset: 'agent-safe',
      rules: ['/src/**=write@20'],
    });
    expect(sb.local?.mode).toBe('path');
    const r = await sb.run('cat src/a.txt; echo changed > src/b.txt; ls -a; cat .env');
    expect(r.stdout).toContain('hello');
    expect(r.stdout).not.toContain('.env');
    expect(r.stdout).not.toContain('secrets');
    expect(r.exitCode).not.toBe(0); // cat .env: no such file
    expect(r.commit?.added).toBe(1);
    expect(await readFile(path.join(dir, 'src', 'b.txt'), 'utf8')).toBe('changed\n');
    const denied = await sb.run('echo x > README.md');
    expect(denied.exitCode).not.toBe(0);
    expect(existsSync(path.join(dir, 'README.md'))).toBe(false);
  });

  it('fromLocal by upload: .gitignore respected, progress reported, pull() applies changes', async () => {
    const dir = await project();
    const phases = new Set<string>();
    await using sb = await t.cordon.sandbox.fromLocal(dir, {
      mode: 'upload',
      preset: 'agent-safe',
      rules: ['/src/**=write@20'],
      onProgress: (p) => phases.add(p.phase),
    });
    expect(sb.local?.mode).toBe('upload');
    expect([...phases]).toEqual(expect.arrayContaining(['scan', 'upload', 'done']));
    const r = await sb.run('ls build 2>&1; echo new > src/c.txt; rm src/a.txt');
    expect(r.stdout).toMatch(/No such file/);
    expect(existsSync(path.join(dir, 'src', 'c.txt'))).toBe(false);
    const pulled = await sb.pull();
    expect(pulled).toMatchObject({ written: 1 });
    expect(await readFile(path.join(dir, 'src', 'c.txt'), 'utf8')).toBe('new\n');
    expect(existsSync(path.join(dir, 'src', 'a.txt'))).toBe(false);
    // Ignored and hidden files were never uploaded, so pull leaves them alone.
    expect(existsSync(path.join(dir, 'build', 'big.bin'))).toBe(true);
    expect(existsSync(path.join(dir, '.env'))).toBe(true);
  });

  it('sessions keep cwd and variables between commands', async () => {
    await using sb = await t.cordon.sandbox.create({ preset: 'full-access' });
    await sb.run('mkdir -p sub');
    await using sh = await sb.session();
    await sh.run('cd sub && export X=42');
    const r = await sh.run('pwd; echo $X');
    expect(r.stdout).toMatch(/\/sub\n42\n$/);
    expect(r.exitCode).toBe(0);
  });

  it('handlers return what handler(event) returned', async () => {
    await using sb = await t.cordon.sandbox.create({ preset: 'agent-safe' });
    const h = await sb.handler<{ sum: number }>({
      language: 'python',
      code: 'def handler(event):\n    print("hi")\n    return {"sum": event["a"] + event["b"]}\n',
      event: { a: 2, b: 3 },
    });
    expect(h.error).toBeNull();
    expect(h.result).toEqual({ sum: 5 });
    expect(h.stdout).toBe('hi\n');
  });
});
