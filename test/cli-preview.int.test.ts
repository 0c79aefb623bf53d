import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cordonCli } from './helpers/cli.ts';
import { exampleProject } from './helpers/fixtures.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

// `cordon preview`: the tree and levels an agent would see, checked line by line on a copy of
// examples/project and compared with what a sandbox with the same policy really shows.

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack();
});
afterAll(async () => {
  await t?.close();
});

const fixture = () => exampleProject(t.dir);

describe('cordon preview', () => {
  it('shows the agent-safe tree with levels; .env, secrets/, .git and credentials are absent', async () => {
    const dir = await fixture();
    const r = await cordonCli(['preview', '--preset', 'agent-safe', dir], { env: t.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      [
        `       ${dir}/`,
        'read   ├── README.md',
        'read   └── src/',
        'read       ├── deep/',
        'read       └── greet.py',
        '',
      ].join('\n'),
    );
    // The default preset is agent-safe, and DIR defaults to the current directory.
    const here = await cordonCli(['preview'], { env: t.env, cwd: dir });
    expect(here.stdout.split('\n').slice(1)).toEqual(r.stdout.split('\n').slice(1));
  });

  it('--show-hidden lists the hidden entries as none', async () => {
    const dir = await fixture();
    const r = await cordonCli(['preview', '--show-hidden', dir], { env: t.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      [
        `       ${dir}/`,
        'none   ├── .env',
        'none   ├── .git/',
        'none   │   └── HEAD',
        'read   ├── README.md',
        'none   ├── credentials.json',
        'none   ├── secrets/',
        'none   │   └── deploy.key',
        'read   └── src/',
        'read       ├── deep/',
        'none       │   └── .env.local',
        'read       └── greet.py',
        '',
      ].join('\n'),
    );
  });

  it('--rule and --policy are honoured; --json prints one { path, level, dir } per line', async () => {
    const dir = await fixture();
    const rule = await cordonCli(
      [
        'preview',
        '--json',
        '--rule',
        '/src/**=write@20',
        '--rule',
        '/secrets/deploy.key=view@200',
        dir,
      ],
      { env: t.env },
    );
    expect(rule.code, rule.stderr).toBe(0);
    const rows = rule.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { path: string; level: string; dir: boolean });
    // Without --preset or --policy the rules refine agent-safe: README.md stays readable, the
    // nested .env.local stays hidden (the preset's secret rule outranks priority 20), and the
    // deploy key is listed but unreadable (priority 200 outranks the preset).
    expect(rows).toEqual([
      { path: '/README.md', level: 'read', dir: false },
      { path: '/secrets', level: 'none', dir: true },
      { path: '/secrets/deploy.key', level: 'view', dir: false },
      { path: '/src', level: 'write', dir: true },
      { path: '/src/deep', level: 'write', dir: true },
      { path: '/src/greet.py', level: 'write', dir: false },
    ]);

    const policy = path.join(t.dir, `policy-${path.basename(dir)}.yaml`);
    await writeFile(
      policy,
      'preset: view-only\nrules:\n  - pattern: /src/**\n    permission: none\n    priority: 10\n',
    );
    const p = await cordonCli(['preview', '--json', '--policy', policy, dir], { env: t.env });
    expect(p.code, p.stderr).toBe(0);
    const paths = p.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { path: string; level: string });
    expect(paths.map((x) => x.path)).not.toContain('/src/greet.py');
    expect(paths.find((x) => x.path === '/README.md')?.level).toBe('view');
    expect(paths.find((x) => x.path === '/.env')?.level).toBe('view');
  });

  it('bad rule, preset, policy entry or directory → exit 2 naming it', async () => {
    const dir = await fixture();
    const cases: [string[], RegExp][] = [
      [['--rule', '/src/**=bogus', dir], /--rule: "\/src\/\*\*=bogus": level must be one of/],
      [['--rule', 'nolevel', dir], /--rule: "nolevel"/],
      [['--preset', 'yolo', dir], /--preset yolo: unknown preset/],
      [['--depth', '0', dir], /--depth 0/],
      [[path.join(dir, 'nope')], /nope: not a readable directory \(ENOENT\)/],
    ];
    const badPolicy = path.join(t.dir, `bad-${path.basename(dir)}.yaml`);
    await writeFile(badPolicy, 'rules:\n  - pattern: /a\n    permission: admin\n');
    cases.push([['--policy', badPolicy, dir], new RegExp(`--policy ${badPolicy} rules\\[0\\]`)]);
    for (const [args, message] of cases) {
      const r = await cordonCli(['preview', ...args], { env: t.env });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
    }
  });

  it('lists exactly what a sandbox with the same policy shows', async () => {
    const dir = await fixture();
    for (const flags of [
      ['--preset', 'agent-safe'],
      ['--rule', '/secrets/deploy.key=read@200'],
    ]) {
      const preview = await cordonCli(['preview', '--json', ...flags], { env: t.env, cwd: dir });
      const shown = preview.stdout
        .trim()
        .split('\n')
        .map((l) => `.${(JSON.parse(l) as { path: string }).path}`)
        .sort();
      const run = await cordonCli(['run', ...flags, '--', 'find', '.', '-mindepth', '1'], {
        env: t.env,
        cwd: dir,
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.trim().split('\n').sort()).toEqual(shown);
    }
  });
});
