// Adversarial isolation tests against real bwrap: each tries an escape and asserts it fails.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, setupTestHost, type TestHost } from './helpers.ts';

let t: TestHost;
beforeAll(async () => {
  t = await setupTestHost();
});
afterAll(async () => {
  await t?.cleanup();
});

describe('filesystem', () => {
  it('sees only the sandbox root: no /root, /home, host /tmp, agent data or other sandboxes', async () => {
    const agentData = path.join(t.root, 'agent-data');
    await fsp.mkdir(agentData);
    await fsp.writeFile(path.join(agentData, 'secret'), 'x');
    const other = await t.sandbox();
    await fsp.writeFile(path.join(other.spec.workspaceDir, 'other-file'), 'y');
    const r = await t.sandbox();
    const script = [
      'ls -A /',
      `for p in /root /home /work /srv /opt /var /mnt /run ${agentData} ${other.spec.workspaceDir} ${t.root} /etc/shadow /etc/gshadow /etc/ssh /etc/sudoers /etc/machine-id; do`,
      '  [ -e "$p" ] && echo "VISIBLE $p"',
      'done',
      'ls -A /tmp',
      'find / -xdev -name other-file 2>/dev/null',
      'echo done',
    ].join('\n');
    const { result, stdout } = await run(r, ['sh', '-c', script]);
    expect(result.exitCode).toBe(0);
    expect(stdout).not.toContain('VISIBLE');
    expect(stdout).not.toContain('other-file');
    const top = stdout.split('\n').slice(0, stdout.split('\n').indexOf('done'));
    expect(top).not.toContain('root');
    expect(top).not.toContain('home');
    expect(stdout.trim().endsWith('done')).toBe(true);
  });

  it('cannot write outside /workspace and /tmp', async () => {
    const r = await t.sandbox();
    const targets = [
      '/x',
      '/usr/x',
      '/usr/bin/x',
      '/etc/x',
      '/etc/passwd',
      '/bin/x',
      '/proc/sys/kernel/hostname',
      '/dev/x',
      '/sys/x',
    ];
    const script = `for f in ${targets.join(' ')}; do (echo pwn > "$f") 2>/dev/null && echo "WROTE $f"; done
echo ok > /workspace/w && echo ok > /tmp/t && echo ok > /dev/shm/s && cat /workspace/w /tmp/t /dev/shm/s`;
    const { result, stdout } = await run(r, ['sh', '-c', script]);
    expect(result.exitCode).toBe(0);
    expect(stdout).not.toContain('WROTE');
    expect(stdout).toBe('ok\nok\nok\n');
    const st = fs.statSync(path.join(r.spec.workspaceDir, 'w'));
    expect(st.uid).toBe(r.spec.uid);
  });

  it('cannot escape /workspace through .., symlinks or /proc', async () => {
    const r = await t.sandbox();
    const script = [
      'cat /workspace/../../etc/shadow 2>/dev/null && echo LEAK1',
      'ln -s / /workspace/rootlink; ls /workspace/rootlink/root 2>/dev/null && echo LEAK2',
      'ls /proc/1/root/root 2>/dev/null && echo LEAK3',
      'cat /proc/1/environ 2>/dev/null | tr "\\0" "\\n" | grep -q "^HOME=/root" && echo LEAK4',
      'echo end',
    ].join('\n');
    const { stdout } = await run(r, ['sh', '-c', script]);
    expect(stdout).toBe('end\n');
    // The symlink inside the workspace is just a link on the host: it points at the host's /, but
    // it was created by the sandbox uid and grants nothing by itself.
    expect(fs.lstatSync(path.join(r.spec.workspaceDir, 'rootlink')).uid).toBe(r.spec.uid);
  });
});

describe('identity', () => {
  it('runs as the unprivileged sandbox uid with no capabilities', async () => {
    const r = await t.sandbox();
    const { stdout } = await run(r, [
      'sh',
      '-c',
      'id -u; id -g; id -un; grep -E "^Cap(Eff|Prm|Bnd|Amb)" /proc/self/status; grep NoNewPrivs /proc/self/status',
    ]);
    const lines = stdout.split('\n');
    expect(lines[0]).toBe(String(r.spec.uid));
    expect(lines[1]).toBe(String(r.spec.gid));
    expect(lines[2]).toBe('sandbox');
    expect(stdout).toMatch(/NoNewPrivs:\s+1/);
    for (const cap of ['CapEff', 'CapPrm', 'CapBnd', 'CapAmb']) {
      expect(stdout).toMatch(new RegExp(`${cap}:\\s+0000000000000000`));
    }
    // What the host sees: the process and its files belong to the sandbox uid, not to root.
    await run(r, ['touch', '/workspace/mine']);
    expect(fs.statSync(path.join(r.spec.workspaceDir, 'mine')).uid).toBe(r.spec.uid);
  });

  it('cannot read a root-only file even when it is inside /workspace', async () => {
    const r = await t.sandbox();
    const secret = path.join(r.spec.workspaceDir, 'shadow-like');
    await fsp.writeFile(secret, 'root secret\n', { mode: 0o600 });
    await fsp.chown(secret, 0, 0);
    const { result, stdout, stderr } = await run(r, [
      'sh',
      '-c',
      'cat /workspace/shadow-like; echo rc=$?',
    ]);
    expect(result.exitCode).toBe(0);
    expect(stdout).not.toContain('root secret');
    expect(stdout).toContain('rc=1');
    expect(stderr).toContain('Permission denied');
  });

  it("cannot read another sandbox's private files (different uids)", async () => {
    const a = await t.sandbox();
    const b = await t.sandbox({ workspaceDir: path.join(t.root, 'shared') });
    expect(a.spec.uid).not.toBe(b.spec.uid);
    const file = path.join(b.spec.workspaceDir, 'a-private');
    await fsp.writeFile(file, 'A only\n', { mode: 0o600 });
    await fsp.chown(file, a.spec.uid, a.spec.gid);
    const { stdout } = await run(b, ['sh', '-c', 'cat /workspace/a-private 2>&1; echo rc=$?']);
    expect(stdout).not.toContain('A only');
    expect(stdout).toContain('rc=1');
  });
});

describe('processes', () => {
  it('sees no host process', async () => {
    const r = await t.sandbox();
    const { stdout } = await run(r, [
      'sh',
      '-c',
      'ls /proc | grep -E "^[0-9]+$" | sort -n | tr "\\n" " "; echo; hostname',
    ]);
    const [pids, hostname] = stdout.split('\n');
    const seen = (pids ?? '').trim().split(' ').map(Number);
    // bwrap's init (1), the shell, ls, grep, sort, tr: a handful of small pids, none of the host's.
    expect(Math.max(...seen)).toBeLessThan(20);
    expect(seen).not.toContain(process.pid);
    expect(hostname).toBe('cordon');
  });

  it('cannot signal host processes', async () => {
    const r = await t.sandbox();
    const { stdout } = await run(r, [
      'sh',
      '-c',
      `kill -0 ${process.pid} 2>/dev/null && echo REACHED || echo unreachable`,
    ]);
    expect(stdout).toBe('unreachable\n');
  });
});

describe('network', () => {
  async function withServer<T>(fn: (port: number) => Promise<T>): Promise<T> {
    const server = net.createServer((s) => s.end('hello-from-host\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      return await fn((server.address() as net.AddressInfo).port);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }
  const probe = (port: number): string[] => [
    'python3',
    '-c',
    `import socket
s = socket.socket(); s.settimeout(3)
try:
    s.connect(("127.0.0.1", ${port})); print("CONNECTED", s.recv(100).decode().strip())
except OSError as e:
    print("refused", e.errno)
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2); print("INTERNET")
except OSError as e:
    print("no-internet", e.errno)`,
  ];

  it("cannot reach a port on the host's 127.0.0.1 (network none)", async () => {
    const r = await t.sandbox();
    await withServer(async (port) => {
      const { stdout } = await run(r, probe(port));
      expect(stdout).not.toContain('CONNECTED');
      expect(stdout).not.toContain('INTERNET');
      expect(stdout).toMatch(/^refused \d+$/m);
    });
    const { stdout } = await run(r, [
      'sh',
      '-c',
      'ls /sys/class/net 2>/dev/null || cat /proc/net/dev',
    ]);
    expect(stdout).not.toMatch(/eth|ens|enp|veth|docker/);
  });

  it("reaches the host's 127.0.0.1 with network 'host' (control)", async () => {
    const r = await t.sandbox({ network: 'host' });
    await withServer(async (port) => {
      const { stdout } = await run(r, probe(port));
      expect(stdout).toContain('CONNECTED hello-from-host');
    });
  });
});

describe('environment', () => {
  it('gets only the explicit environment, /workspace as cwd', async () => {
    process.env.CORDON_TEST_SECRET = 'leak-me';
    try {
      const r = await t.sandbox({ env: { FROM_SPEC: 'spec', OVERRIDE: 'spec' } });
      const { stdout } = await run(r, ['sh', '-c', 'pwd; env | sort'], {
        env: { OVERRIDE: 'req' },
      });
      expect(stdout).not.toContain('leak-me');
      expect(stdout.split('\n')[0]).toBe('/workspace');
      expect(stdout).toContain('FROM_SPEC=spec');
      expect(stdout).toContain('OVERRIDE=req');
      expect(stdout).toContain('HOME=/tmp');
      expect(stdout).toMatch(/^PATH=\/usr\/local\/sbin:/m);
    } finally {
      delete process.env.CORDON_TEST_SECRET;
    }
  });

  it('passes argv verbatim (no shell interpolation)', async () => {
    const r = await t.sandbox();
    const evil = '$(touch /workspace/pwned); `id`; "\' \\ *';
    const { stdout } = await run(r, ['printf', '%s\\n', evil, 'two words']);
    expect(stdout).toBe(`${evil}\ntwo words\n`);
    expect(fs.existsSync(path.join(r.spec.workspaceDir, 'pwned'))).toBe(false);
  });
});
