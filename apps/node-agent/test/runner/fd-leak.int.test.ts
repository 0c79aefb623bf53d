import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('descriptors the node agent inherited never reach the sandbox', () => {
  let dir: string;
  let secret: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cordon-fdleak-'));
    secret = path.join(dir, 'host-secret');
    fs.writeFileSync(secret, 'host-only\n', { mode: 0o600 });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a root-only file open on fd 40 of the agent is not readable inside', async () => {
    const fd = fs.openSync(secret, 'r');
    try {
      // Index 40 of stdio becomes fd 40 of the child, without close-on-exec. (Low numbers such as 12
      // are reused by Node itself at start-up, which would hide the leak.)
      const stdio = ['ignore', 'pipe', 'pipe', ...Array<'ignore'>(37).fill('ignore'), fd] as const;
      const child = spawn(process.execPath, [path.join(import.meta.dirname, 'fd-leak-child.ts')], {
        stdio: [...stdio],
      });
      let out = '';
      let err = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(err).toBe('');
      expect(code).toBe(0);
      const seen = JSON.parse(out) as { stdout: string; stderr: string };
      const fds = seen.stdout
        .split('\n')
        .filter((l) => /^\d+$/.test(l))
        .map(Number);
      expect(fds).not.toContain(40);
      expect(seen.stdout).not.toContain('host-only');
      expect(seen.stdout).not.toContain('LEAKED');
    } finally {
      fs.closeSync(fd);
    }
  });
});
