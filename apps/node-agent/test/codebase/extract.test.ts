// Tar extraction of uploads: hostile archives are refused, nothing is written outside the target,
// and gzip is detected. Temp directories only (no root or kernel features needed).
import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CodebaseError, extractTar, isUnder, safeMemberPath } from '../../src/codebase/index.ts';

type Entry = Parameters<ReturnType<typeof pack>['entry']>[0] & { body?: string };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  for (const { body, ...h } of entries) p.entry(h, body ?? '');
  p.finalize();
  const parts: Buffer[] = [];
  for await (const b of p as AsyncIterable<Buffer>) parts.push(Buffer.from(b));
  return Buffer.concat(parts);
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cordon-extract-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function extract(buf: Buffer) {
  return extractTar(Readable.from([buf]), join(dir, 'out'));
}

async function refused(buf: Buffer): Promise<CodebaseError> {
  const err: unknown = await extract(buf).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CodebaseError);
  return err as CodebaseError;
}

describe('extractTar', () => {
  it('normalises member names and refuses absolute and .. paths', () => {
    expect(safeMemberPath('./a//b/')).toBe('a/b');
    expect(safeMemberPath('.')).toBe('');
    expect(() => safeMemberPath('/etc/passwd')).toThrow(CodebaseError);
    expect(() => safeMemberPath('a/../../x')).toThrow(/'\.\.'/);
  });

  it('extracts files, directories, symlinks and hard links, dropping setuid bits', async () => {
    const buf = await tarOf([
      { name: 'src', type: 'directory', mode: 0o755 },
      { name: 'src/a.txt', body: 'alpha', mode: 0o4755 },
      { name: 'src/link', type: 'symlink', linkname: 'a.txt' },
      { name: 'src/hard', type: 'link', linkname: 'src/a.txt' },
      { name: 'deep/er/f.txt', body: 'x' },
    ]);
    const stats = await extract(buf);
    expect(stats).toMatchObject({ files: 3, dirs: 1, symlinks: 1 });
    const out = join(dir, 'out');
    expect(await readFile(join(out, 'src/a.txt'), 'utf8')).toBe('alpha');
    expect((await lstat(join(out, 'src/a.txt'))).mode & 0o7777).toBe(0o755);
    expect((await lstat(join(out, 'src/link'))).isSymbolicLink()).toBe(true);
    expect(await readFile(join(out, 'src/hard'), 'utf8')).toBe('alpha');
    expect(await readFile(join(out, 'deep/er/f.txt'), 'utf8')).toBe('x');
  });

  it('never writes through a symlink the archive planted', async () => {
    const outside = join(dir, 'outside');
    const err = await refused(
      await tarOf([
        { name: 'escape', type: 'symlink', linkname: outside },
        { name: 'escape/pwned', body: 'x' },
      ]),
    );
    expect(err.code).toBe('BAD_ARCHIVE');
    expect(existsSync(join(outside, 'pwned'))).toBe(false);
  });

  it('refuses devices, fifos, hard links to outside files, and absolute names', async () => {
    expect((await refused(await tarOf([{ name: 'dev', type: 'character-device' }]))).code).toBe(
      'BAD_ARCHIVE',
    );
    expect((await refused(await tarOf([{ name: 'p', type: 'fifo' }]))).code).toBe('BAD_ARCHIVE');
    expect(
      (await refused(await tarOf([{ name: 'h', type: 'link', linkname: '/etc/passwd' }]))).code,
    ).toBe('BAD_ARCHIVE');
    expect((await refused(await tarOf([{ name: '/abs', body: 'x' }]))).code).toBe('BAD_ARCHIVE');
  });

  it('reads gzip input and refuses what is not a tar', async () => {
    const buf = await tarOf([{ name: 'z.txt', body: 'zipped' }]);
    await extract(gzipSync(buf));
    expect(await readFile(join(dir, 'out', 'z.txt'), 'utf8')).toBe('zipped');
    await rm(join(dir, 'out'), { recursive: true });
    expect((await refused(Buffer.from('not a tar at all'.repeat(64)))).code).toBe('BAD_ARCHIVE');
  });

  it('caps total bytes', async () => {
    const buf = await tarOf([{ name: 'big', body: 'x'.repeat(2000) }]);
    const err: unknown = await extractTar(Readable.from([buf]), join(dir, 'o2'), {
      maxBytes: 1000,
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as CodebaseError).code).toBe('TOO_LARGE');
  });

  it('matches allow-list prefixes on component boundaries', () => {
    expect(isUnder('/srv/a/b', '/srv/a')).toBe(true);
    expect(isUnder('/srv/ab', '/srv/a')).toBe(false);
    expect(isUnder('/x', '/')).toBe(true);
  });
});
