import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cordonCli } from './helpers/cli.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack();
});
afterAll(async () => {
  await t?.close();
});

describe('cordon CLI against a real stack', () => {
  it.each([
    [['run', '--memory', '12q', '--', 'true'], /--memory 12q: not a size/],
    [['run', '--timeout', 'soon', '--', 'true'], /--timeout soon: not a duration/],
    [['run', '--cpus', 'many', '--', 'true'], /--cpus many: not a CPU amount/],
    [['run', '--pids', '-1', '--', 'true'], /--pids -1: must be a whole number/],
    [['run', '--rule', '/a=admin', '--', 'true'], /--rule: "\/a=admin": level must be one of/],
    [['run', '--preset', 'yolo', '--', 'true'], /--preset yolo: unknown preset/],
    [['up', '--port', '70000'], /--port 70000: must be between 0 and 65535/],
    [['run', '--bogus', 'true'], /unknown option '--bogus'/],
  ])('bad input %j → exit 2 naming it', async (args, message) => {
    const r = await cordonCli(args, { env: t.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('cordon exec streams output and exits with the command code; --timeout → 124', async () => {
    const sb = await t.cordon.sandbox.create({ preset: 'agent-safe' });
    try {
      const ok = await cordonCli(['exec', sb.id, '--', 'sh', '-c', 'echo hi; exit 7'], {
        env: t.env,
      });
      expect(ok.stdout).toBe('hi\n');
      expect(ok.code).toBe(7);
      expect(ok.stderr).toMatch(/cordon: exit 7 · .* · no denials/);
      const slow = await cordonCli(['exec', '--timeout', '1s', sb.id, '--', 'sleep', '30'], {
        env: t.env,
      });
      expect(slow.code).toBe(124);
      expect(slow.stderr).toContain('timed out');
    } finally {
      await sb.close();
    }
  });

  it('sandbox create / ls / rm and nodes', async () => {
    const created = await cordonCli(['sandbox', 'create', '--preset', 'read-only'], { env: t.env });
    expect(created.code).toBe(0);
    const id = created.stdout.trim();
    expect(id).toMatch(/^sb_/);
    const ls = await cordonCli(['sandbox', 'ls', '--json'], { env: t.env });
    expect(ls.stdout).toContain(id);
    const rm = await cordonCli(['sandbox', 'rm', id], { env: t.env });
    expect(rm.code).toBe(0);
    const nodes = await cordonCli(['nodes'], { env: t.env });
    expect(nodes.stdout).toMatch(/local-1\s+up/);
    const missing = await cordonCli(['sandbox', 'rm', 'sb_nope'], { env: t.env });
    expect(missing.code).toBe(125);
    expect(missing.stderr).toMatch(/^cordon: sandbox sb_nope not found/);
  });

  it('token create / ls / revoke; the new token works', async () => {
    const created = await cordonCli(
      ['token', 'create', '--name', 'ci', '--scope', 'read', '--json'],
      { env: t.env },
    );
    expect(created.code, created.stderr).toBe(0);
    const tok = JSON.parse(created.stdout) as { id: string; token: string };
    const asReader = { ...t.env, CORDON_TOKEN: tok.token };
    expect((await cordonCli(['nodes'], { env: asReader })).code).toBe(0);
    expect((await cordonCli(['token', 'ls'], { env: t.env })).stdout).toMatch(/ci\s+read/);
    expect((await cordonCli(['token', 'revoke', tok.id], { env: t.env })).code).toBe(0);
    const after = await cordonCli(['nodes'], { env: asReader });
    expect(after.code).toBe(125);
    expect(after.stderr).toMatch(/token/);
  });

  it('no gateway → 125 with a one-line reason', async () => {
    const r = await cordonCli(['nodes'], {
      env: { PATH: t.env['PATH'], HOME: t.dir, CORDON_HOME: path.join(t.dir, 'none') },
    });
    expect(r.code).toBe(125);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cordon up/);
  });

  it('cordon run: live output, exit code, 124 on timeout, summary, changes on disk', async () => {
    const dir = await mkdtemp(path.join(t.dir, 'run-'));
    await mkdir(path.join(dir, 'src'));
    await writeFile(path.join(dir, '.env'), 'SECRET=1\n');
    await writeFile(path.join(dir, 'src', 'a.txt'), 'a\n');
    const r = await cordonCli(
      [
        'run',
        '--preset',
        'agent-safe',
        '--rule',
        '/src/**=write@20',
        '--',
        'sh',
        '-c',
        'ls -a; echo b > src/b.txt; cat .env; exit 5',
      ],
      { env: t.env, cwd: dir },
    );
    expect(r.code, r.stderr).toBe(5);
    expect(r.stdout).toContain('src');
    expect(r.stdout).not.toContain('.env');
    expect(r.stderr).toMatch(/committed 1 added/);
    expect(await readFile(path.join(dir, 'src', 'b.txt'), 'utf8')).toBe('b\n');
    const slow = await cordonCli(['run', '--timeout', '1s', '--', 'sleep', '30'], {
      env: t.env,
      cwd: dir,
    });
    expect(slow.code, slow.stderr).toBe(124);
  });
});
