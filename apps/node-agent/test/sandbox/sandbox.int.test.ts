// The node agent's pieces together, as the gateway will drive them: two sandboxes with different
// policies on one codebase, commands in real bwrap on real FUSE mounts, commits between them.
import fsp from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicy, type PolicyInput } from '@cordon/policy';
import { CommitQueue } from '../../src/commit/index.ts';
import { createCgroupDriver } from '../../src/cgroup/driver.ts';
import { requireHost } from '../../src/host/detect.ts';
import { standbyProcessesOfUid } from '../runner/helpers.ts';
import {
  CodebaseHub,
  Sandbox,
  type NodeContext,
  type SandboxOptions,
} from '../../src/sandbox/index.ts';

let root: string;
let codebase: string;
let ctx: NodeContext;
const sandboxes: Sandbox[] = [];
let n = 0;

beforeAll(async () => {
  root = await fsp.mkdtemp(path.join(os.tmpdir(), 'cordon-sandbox-'));
  await fsp.chmod(root, 0o755);
  codebase = path.join(root, 'codebase');
  await fsp.mkdir(path.join(codebase, 'src'), { recursive: true });
  await fsp.mkdir(path.join(codebase, 'secrets'));
  await fsp.writeFile(path.join(codebase, 'src/main.py'), 'print("hello")\n');
  await fsp.writeFile(path.join(codebase, '.env'), 'TOKEN=hunter2\n');
  await fsp.writeFile(path.join(codebase, 'secrets/key'), 'sk-live\n');
  await fsp.writeFile(path.join(codebase, 'README.md'), '# project\n');
  const host = await requireHost({ runtimeDir: path.join(root, 'run') });
  ctx = {
    host,
    cgroups: createCgroupDriver(host.cgroup),
    hub: new CodebaseHub(),
    commits: new CommitQueue(),
    stateDir: path.join(root, 'state'),
  };
  await fsp.mkdir(ctx.stateDir);
});

afterAll(async () => {
  for (const sb of sandboxes) await sb.destroy();
  await fsp.rm(root, { recursive: true, force: true });
});

async function sandbox(policy: PolicyInput, extra: Partial<SandboxOptions> = {}): Promise<Sandbox> {
  const uid = 2_600_000 + (process.pid % 10_000) * 8 + n;
  const sb = await Sandbox.create(
    {
      sandboxId: `sb${process.pid}-${n++}`,
      codebaseDir: codebase,
      sandboxDir: path.join(root, `sandbox${n}`),
      policy: compilePolicy(policy),
      uid,
      gid: uid,
      ...extra,
    },
    ctx,
  );
  sandboxes.push(sb);
  return sb;
}

async function sh(sb: Sandbox, script: string) {
  const running = await sb.exec({ argv: ['bash', '-c', script] });
  let stdout = '';
  let stderr = '';
  for await (const chunk of running) {
    const text = Buffer.from(chunk.data).toString();
    if (chunk.stream === 'stdout') stdout += text;
    else stderr += text;
  }
  return { ...(await running.result), stdout, stderr };
}

describe('sandbox: mount + bwrap + commit', () => {
  let writer: Sandbox;
  let reviewer: Sandbox;

  beforeAll(async () => {
    writer = await sandbox({
      preset: 'agent-safe',
      rules: [{ pattern: '/src/**', permission: 'write', priority: 20 }],
    });
    reviewer = await sandbox({ preset: 'read-only' });
  });

  it('hides none paths from the agent and runs it in /workspace as an unprivileged uid', async () => {
    const r = await sh(writer, 'pwd; id -u; ls -A; cat .env; ls secrets');
    const [cwd, uid] = r.stdout.split('\n');
    expect(cwd).toBe('/workspace');
    expect(Number(uid)).toBeGreaterThan(0);
    const listing = r.stdout.split('\n').slice(2).filter(Boolean);
    expect(listing).toEqual(['README.md', 'src']);
    expect(r.stderr).toMatch(/\.env: No such file or directory/);
    expect(r.stderr).toMatch(/secrets.*No such file or directory/);
    expect(r.exitCode).not.toBe(0);
    // Probing a hidden file that exists is audited, though the agent only saw ENOENT.
    expect(r.denials).toContainEqual(expect.objectContaining({ path: '/.env', level: 'none' }));
  });

  it("commits the writer's changes when the exec ends and reports them", async () => {
    const r = await sh(
      writer,
      'echo new > src/new.py && sed -i s/hello/bye/ src/main.py && echo x > README.md',
    );
    expect(r.exitCode).not.toBe(0); // README.md is read-only for the writer
    expect(r.stderr).toMatch(/README\.md: Permission denied/);
    expect(r.commit).toMatchObject({
      committed: true,
      added: ['/src/new.py'],
      modified: ['/src/main.py'],
      deleted: [],
    });
    expect(await fsp.readFile(path.join(codebase, 'src/new.py'), 'utf8')).toBe('new\n');
    expect(await fsp.readFile(path.join(codebase, 'src/main.py'), 'utf8')).toBe('print("bye")\n');
    expect(await fsp.readFile(path.join(codebase, 'README.md'), 'utf8')).toBe('# project\n');
    expect(r.denials.some((d) => d.path === '/README.md' && d.required === 'write')).toBe(true);
  });

  it("the other sandbox's next exec sees the committed change, and cannot write", async () => {
    const r = await sh(reviewer, 'cat src/new.py src/main.py; echo hack > src/new.py');
    expect(r.stdout).toBe('new\nprint("bye")\n');
    expect(r.stderr).toMatch(/Permission denied/);
    expect(r.commit).toMatchObject({ committed: true, added: [], modified: [], deleted: [] });
    expect(await fsp.readFile(path.join(codebase, 'src/new.py'), 'utf8')).toBe('new\n');
  });

  it("a sandbox that read a file sees another's commits to it at each next exec", async () => {
    const uid = reviewer.handle.spec.uid;
    for (const v of ['one', 'two', 'three']) {
      // Read first, so the reviewer's kernel caches and its waiting standbys hold the old mount.
      const before = await sh(reviewer, 'cat src/main.py');
      expect(before.exitCode).toBe(0);
      const deadline = Date.now() + 10_000;
      while (standbyProcessesOfUid(uid).length < 6 && Date.now() < deadline) await sleep(10);
      const standbys = standbyProcessesOfUid(uid);
      const w = await sh(writer, `echo ${v} > src/main.py`);
      expect(w.commit).toMatchObject({ committed: true, modified: ['/src/main.py'] });
      expect((await sh(reviewer, 'cat src/main.py')).stdout).toBe(`${v}\n`);
      // The remount discarded every standby made before it, not only the one the exec took.
      expect(standbyProcessesOfUid(uid).filter((p) => standbys.includes(p))).toEqual([]);
    }
  });

  it("commit 'never' keeps changes in the delta until an explicit commit", async () => {
    const sb = await sandbox({ preset: 'full-access' }, { commit: 'never' });
    const r = await sh(sb, 'echo draft > draft.txt && cat draft.txt');
    expect(r.stdout).toBe('draft\n');
    expect(r.commit).toBeNull();
    await expect(fsp.access(path.join(codebase, 'draft.txt'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect((await sh(sb, 'cat draft.txt')).stdout).toBe('draft\n');
    expect(await sb.commit()).toMatchObject({ committed: true, added: ['/draft.txt'] });
    expect(await fsp.readFile(path.join(codebase, 'draft.txt'), 'utf8')).toBe('draft\n');
  });

  it("commit 'on-success' discards nothing but commits only on exit 0", async () => {
    const sb = await sandbox({ preset: 'full-access' }, { commit: 'on-success' });
    const failed = await sh(sb, 'echo 1 > attempt.txt; exit 3');
    expect(failed.exitCode).toBe(3);
    expect(failed.commit).toBeNull();
    await expect(fsp.access(path.join(codebase, 'attempt.txt'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
    const ok = await sh(sb, 'cat attempt.txt');
    expect(ok.commit).toMatchObject({ committed: true, added: ['/attempt.txt'] });
  });

  it('refuses to run once destroyed', async () => {
    const sb = await sandbox({ preset: 'read-only' });
    await sb.destroy();
    await expect(sb.exec({ argv: ['true'] })).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
