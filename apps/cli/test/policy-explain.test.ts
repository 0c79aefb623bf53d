import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '@cordon/cli';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (s) => (out += String(s)), stderr: (s) => (err += s) });
  return { code, out, err };
}

describe('cordon policy explain', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cordon-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints level, path and deciding rule per path', async () => {
    const r = await run(
      'policy',
      'explain',
      '--preset',
      'agent-safe',
      '--rule',
      '/docs/**=write@20',
      '/src/a.ts',
      '/.env',
      '/docs/x.md',
    );
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n')).toEqual([
      'read   /src/a.ts   **/* (glob, priority 0, rule #0)',
      'none   /.env       **/.env* (glob, priority 100, rule #3)',
      'write  /docs/x.md  /docs/** (glob, priority 20, rule #9)',
    ]);
  });

  it('says default when no rule matches', async () => {
    const file = path.join(dir, 'only-a.yaml');
    await writeFile(file, 'rules:\n  - pattern: /a\n    permission: read\n');
    const r = await run('policy', 'explain', '--policy', file, '/b');
    expect(r.out).toContain('none   /b  default (no rule matches)');
  });

  it('--rule alone refines the default preset (agent-safe) instead of replacing it', async () => {
    const r = await run(
      'policy',
      'explain',
      '--json',
      '--rule',
      '/src/**=write@20',
      '/src/a.ts',
      '/.env',
      '/README.md',
    );
    const levels = r.out
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { level: string }).level);
    expect(levels).toEqual(['write', 'none', 'read']);
  });

  it('reads a YAML policy file, and --rule extends it', async () => {
    const file = path.join(dir, 'p.yaml');
    await writeFile(
      file,
      'preset: read-only\nrules:\n  - pattern: /out/**\n    permission: write\n    priority: 5\n',
    );
    const r = await run(
      'policy',
      'explain',
      '--policy',
      file,
      '--rule',
      '/out/keep=view@9',
      '--json',
      '/out/a',
      '/out/keep',
      '/src',
    );
    expect(r.code).toBe(0);
    expect(
      r.out
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { level: string }).level),
    ).toEqual(['write', 'view', 'read']);
  });

  it.each([
    [['--rule', '/a=admin', '/a'], /--rule: "\/a=admin": level must be one of/],
    [['--rule', '/a/../b=read', '/a'], /--rule \/a\/..\/b=read: pattern: .*'\.\.'/],
    [['--rule', '=read', '/a'], /expected PATTERN=LEVEL/],
    [['--rule', '/a=read@1.5', '/a'], /priority after @ must be an integer/],
    [['--preset', 'yolo', '/a'], /--preset yolo: unknown preset/],
    [
      ['--policy', '/nonexistent/p.yaml', '/a'],
      /--policy \/nonexistent\/p.yaml: cannot read it \(ENOENT\)/,
    ],
    [['--bogus', '/a'], /unknown option '--bogus'/],
    [['/a/../etc/passwd'], /contains '\.\.'/],
    [[], /missing required argument 'path'/],
  ])('bad input %j → exit 2 naming it', async (args, message) => {
    const r = await run('policy', 'explain', ...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.out).toBe('');
  });

  it('names the policy-file rule at fault', async () => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(
      file,
      'rules:\n  - pattern: /a\n    permission: read\n  - pattern: ""\n    permission: read\n',
    );
    const r = await run('policy', 'explain', '--policy', file, '/a');
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--policy ${file} rules[1]: pattern: pattern is empty`);
  });

  it('--help shows examples and exits 0', async () => {
    const r = await run('policy', 'explain', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatchSnapshot();
  });

  it('the real binary exits 2 on bad input and 0 on success', async () => {
    const bin = path.resolve(import.meta.dirname, '../src/bin.ts');
    const exec = promisify(execFile);
    const good = await exec(process.execPath, [
      bin,
      'policy',
      'explain',
      '--preset',
      'read-only',
      '/x',
    ]);
    expect(good.stdout).toContain('read   /x');
    await expect(
      exec(process.execPath, [bin, 'policy', 'explain', '--preset', 'nope', '/x']),
    ).rejects.toMatchObject({ code: 2 });
  });
});
