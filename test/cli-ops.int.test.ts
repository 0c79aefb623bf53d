import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cordonCli, startCordon } from './helpers/cli.ts';
import { exampleProject } from './helpers/fixtures.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

// The operator commands of the real `cordon` binary against a real stack: logs (after the fact
// and live), --json shapes, tokens, and plain progress lines when stderr is not a terminal.
// `cordon preview` is in cli-preview.int.test.ts.

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack();
});
afterAll(async () => {
  await t?.close();
});

const fixture = () => exampleProject(t.dir);

/** Nothing a terminal would interpret: no escape sequences, no carriage returns. */
function expectPlain(text: string): void {
  expect(text).not.toMatch(/\x1b/);
  expect(text).not.toContain('\r');
}

describe('cordon logs', () => {
  it('prints the output on the right streams while running, live with --follow, and after the end', async () => {
    const dir = await fixture();
    const sb = await t.cordon.sandbox.fromLocal(dir, { preset: 'agent-safe' });
    try {
      // Waits for a file the test creates on the host: the exec runs exactly as long as needed.
      const h = sb.exec([
        'sh',
        '-c',
        'echo o1; echo e1 >&2; while [ ! -e go ]; do sleep 0.1; done; echo o2; echo e2 >&2; exit 3',
      ]);
      const execId = await h.id;
      let seen = '';
      for await (const ev of h) {
        if (ev.kind !== 'gap') seen += ev.text;
        if (seen.includes('o1') && seen.includes('e1')) break;
      }

      const now = await cordonCli(['logs', execId], { env: t.env });
      expect(now.code, now.stderr).toBe(0);
      expect(now.stdout).toBe('o1\n');
      expect(now.stderr).toBe(
        `e1\ncordon: ${execId} is still running; use --follow to keep reading\n`,
      );

      const nowJson = await cordonCli(['logs', '--json', execId], { env: t.env });
      expect(nowJson.code, nowJson.stderr).toBe(0);
      expect(nowJson.stderr).toBe('');
      expect(JSON.parse(nowJson.stdout)).toEqual({
        execId,
        running: true,
        stdout: 'o1\n',
        stderr: 'e1\n',
        result: null,
      });

      const follow = startCordon(['logs', '--follow', execId], { env: t.env });
      let followEnded = false;
      void follow.exited.then(() => (followEnded = true));
      await follow.waitFor(/o1\n/);
      await follow.waitFor(/e1\n/);
      // Still attached while the command runs: it cannot have ended, the command has not.
      expect(followEnded).toBe(false);
      await writeFile(path.join(dir, 'go'), '');
      expect(await follow.exited).toEqual({ code: 0, signal: null });
      expect(follow.stdout()).toBe('o1\no2\n');
      expect(follow.stderr()).toMatch(/^e1\ne2\ncordon: exit 3 · no changes · no denials\n$/);

      const after = await cordonCli(['logs', execId], { env: t.env });
      expect(after.code, after.stderr).toBe(0);
      expect(after.stdout).toBe('o1\no2\n');
      expect(after.stderr).toBe('e1\ne2\ncordon: exit 3 · no changes · no denials\n');

      const afterSeq = await cordonCli(['logs', '--after', '2', execId], { env: t.env });
      expect(afterSeq.stdout + afterSeq.stderr).not.toMatch(/o1|e1/);
      expect(afterSeq.stdout).toBe('o2\n');

      const json = await cordonCli(['logs', '--json', execId], { env: t.env });
      expect(json.code, json.stderr).toBe(0);
      const parsed = JSON.parse(json.stdout) as Record<string, unknown>;
      expect(parsed).toMatchObject({
        execId,
        running: false,
        stdout: 'o1\no2\n',
        stderr: 'e1\ne2\n',
        result: { execId, exitCode: 3, timedOut: false, canceled: false },
      });
    } finally {
      await sb.close();
    }
  });

  it('unknown exec → 125 with one line; malformed id or --after → 2', async () => {
    const missing = await cordonCli(['logs', 'ex_00000000000000000000'], { env: t.env });
    expect(missing.code).toBe(125);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/^cordon: exec ex_00000000000000000000 not found[^\n]*\n$/);
    const bad = await cordonCli(['logs', 'bad/id'], { env: t.env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/execId/);
    const after = await cordonCli(['logs', '--after', 'x', 'ex_00000000000000000000'], {
      env: t.env,
    });
    expect(after.code).toBe(2);
    expect(after.stderr).toMatch(/--after x: must be a whole number/);
  });
});

describe('sandbox and exec: --json shapes and errors', () => {
  it('sandbox create --json, exec --json, sandbox rm of several', async () => {
    const created = await cordonCli(['sandbox', 'create', '--json', '--memory', '256m'], {
      env: t.env,
    });
    expect(created.code, created.stderr).toBe(0);
    const rec = JSON.parse(created.stdout) as {
      id: string;
      state: string;
      nodeId: string;
      network: string;
      limits: { memoryBytes: number };
    };
    expect(rec).toMatchObject({ state: 'ready', nodeId: 'local-1', network: 'none' });
    expect(rec.id).toMatch(/^sb_/);
    expect(rec.limits.memoryBytes).toBe(256 * 1024 * 1024);
    expectPlain(created.stderr);

    const ex = await cordonCli(
      ['exec', '--json', rec.id, '--', 'sh', '-c', 'echo out; echo err >&2; exit 4'],
      { env: t.env },
    );
    expect(ex.code).toBe(4);
    expect(ex.stderr).toBe('');
    const res = JSON.parse(ex.stdout) as Record<string, unknown>;
    expect(res).toMatchObject({
      exitCode: 4,
      stdout: 'out\n',
      stderr: 'err\n',
      timedOut: false,
      denials: { count: 0, sample: [] },
    });
    expect(res['execId']).toMatch(/^ex_/);

    const second = await cordonCli(['sandbox', 'create'], { env: t.env });
    const id2 = second.stdout.trim();
    const rm = await cordonCli(['sandbox', 'rm', rec.id, id2], { env: t.env });
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toBe(`${rec.id}\n${id2}\n`);
    const ls = await cordonCli(['sandbox', 'ls', '--json'], { env: t.env });
    expect(ls.stdout).not.toContain(rec.id);
    expect(ls.stdout).not.toContain(id2);
    const all = await cordonCli(['sandbox', 'ls', '--all', '--json'], { env: t.env });
    const states = all.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; state: string })
      .filter((s) => s.id === rec.id || s.id === id2)
      .map((s) => s.state);
    expect(states).toEqual(['destroyed', 'destroyed']);
  });

  it('exec errors: unknown sandbox → 125, no command → 2', async () => {
    const missing = await cordonCli(['exec', 'sb_00000000000000000000', '--', 'true'], {
      env: t.env,
    });
    expect(missing.code).toBe(125);
    expect(missing.stderr).toMatch(/^cordon: sandbox sb_00000000000000000000 not found[^\n]*\n$/);
    const sb = await t.cordon.sandbox.create({ preset: 'agent-safe' });
    try {
      const none = await cordonCli(['exec', sb.id, '--'], { env: t.env });
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/give the command after --/);
    } finally {
      await sb.close();
    }
  });
});

describe('progress on a non-terminal stderr', () => {
  it('cordon run and sandbox create --upload print plain lines only', async () => {
    const dir = await fixture();
    const run = await cordonCli(['run', '--', 'true'], { env: t.env, cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expectPlain(run.stderr);
    expect(run.stderr).toMatch(/^creating the sandbox…$/m);
    expect(run.stderr.endsWith('\n')).toBe(true);

    const up = await cordonCli(['sandbox', 'create', '--upload', '--dir', dir], { env: t.env });
    expectPlain(up.stderr);
    // One line per step, not one per progress tick.
    expect(up.stderr.match(/^uploading/gm)?.length ?? 0).toBeLessThanOrEqual(1);
    expect(up.code, up.stderr).toBe(0);
    await cordonCli(['sandbox', 'rm', up.stdout.trim()], { env: t.env });
  });
});
