import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { applyTar, endpointsOf, packDirectory, walkLocal } from '@cordon/client';
import tar from 'tar-stream';

const dirs: string[] = [];

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of it) parts.push(b);
  return Buffer.concat(parts);
}

function once(b: Buffer): Readable {
  return Readable.from([b]);
}
async function tmp(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'cordon-client-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function files(root: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of walkLocal(root)) out.push(e.type === 'directory' ? `${e.rel}/` : e.rel);
  return out;
}

describe('endpointsOf', () => {
  it.each([
    ['127.0.0.1:7420', 'http://127.0.0.1:7420', 'ws://127.0.0.1:7420/trpc'],
    ['http://h:1/trpc', 'http://h:1', 'ws://h:1/trpc'],
    ['https://cordon.example.com', 'https://cordon.example.com', 'wss://cordon.example.com/trpc'],
  ])('%s', (url, origin, ws) => {
    expect(endpointsOf(url)).toMatchObject({ origin, wsUrl: ws, httpUrl: `${origin}/trpc` });
  });
  it('refuses other schemes', () => expect(() => endpointsOf('ftp://x')).toThrow(/http or https/));
});

describe('upload and pull of a local directory', () => {
  it('walks what .gitignore keeps (nested ones too), never .git', async () => {
    const d = await tmp();
    await mkdir(path.join(d, '.git'));
    await writeFile(path.join(d, '.git', 'HEAD'), 'x');
    await writeFile(path.join(d, '.gitignore'), 'node_modules/\n*.log\n');
    await mkdir(path.join(d, 'node_modules', 'x'), { recursive: true });
    await writeFile(path.join(d, 'node_modules', 'x', 'i.js'), '');
    await mkdir(path.join(d, 'src'));
    await writeFile(path.join(d, 'src', 'a.ts'), 'a');
    await writeFile(path.join(d, 'src', 'debug.log'), '');
    await writeFile(path.join(d, 'src', '.gitignore'), 'gen/\n');
    await mkdir(path.join(d, 'src', 'gen'));
    await writeFile(path.join(d, 'src', 'gen', 'g.ts'), '');
    await writeFile(path.join(d, '.env'), 'S=1');
    expect(await files(d)).toEqual(['.env', '.gitignore', 'src/', 'src/.gitignore', 'src/a.ts']);
  });

  it('pack → apply reproduces the tree; apply deletes what the codebase no longer has', async () => {
    const src = await tmp();
    await mkdir(path.join(src, 'src'));
    await writeFile(path.join(src, 'src', 'a.ts'), 'alpha');
    await symlink('a.ts', path.join(src, 'src', 'link'));
    await writeFile(path.join(src, '.gitignore'), 'keep.log\n');
    const progress: string[] = [];
    const packed = await collect(
      await packDirectory(src, { onProgress: (p) => progress.push(p.phase) }),
    );
    expect([...new Set(progress)]).toEqual(['scan', 'upload', 'done']);
    const dst = await tmp();
    await writeFile(path.join(dst, 'stale.txt'), 'old');
    await writeFile(path.join(dst, '.gitignore'), 'keep.log\n');
    await writeFile(path.join(dst, 'keep.log'), 'ignored locally: never deleted');
    const r = await applyTar(dst, once(packed));
    expect(await readFile(path.join(dst, 'src', 'a.ts'), 'utf8')).toBe('alpha');
    expect(await readFile(path.join(dst, 'src', 'link'), 'utf8')).toBe('alpha');
    expect(await files(dst)).toEqual(['.gitignore', 'src/', 'src/a.ts', 'src/link']);
    expect(await readFile(path.join(dst, 'keep.log'), 'utf8')).toContain('never deleted');
    expect(r.deleted).toBeGreaterThanOrEqual(1);
    // Applying the same tar again changes nothing.
    expect(await applyTar(dst, once(packed))).toMatchObject({ written: 0 });
  });

  it('refuses entries that would leave the directory', async () => {
    const pack = tar.pack();
    pack.entry({ name: '../escape.txt' }, 'x');
    pack.entry({ name: 'ok.txt' }, 'y');
    pack.finalize();
    const buf = await collect(pack as unknown as AsyncIterable<Buffer>);
    const parent = await tmp();
    const dst = path.join(parent, 'd');
    await mkdir(dst);
    await applyTar(dst, once(buf));
    expect(await readFile(path.join(dst, 'ok.txt'), 'utf8')).toBe('y');
    await expect(readFile(path.join(parent, 'escape.txt'))).rejects.toThrow(/ENOENT/);
  });
});
