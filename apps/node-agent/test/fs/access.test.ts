import { compilePolicy } from '@cordon/policy';
import { describe, expect, it } from 'vitest';
import { levelOf, refuse, requireCreate, requireOn, visible } from '../../src/fs/access.ts';
import type { DenialEvent } from '../../src/fs/audit.ts';
import type { FsContext } from '../../src/fs/context.ts';
import { DeltaIndex } from '../../src/fs/delta-index.ts';
import { E, Errno } from '../../src/fs/errno.ts';
import { Layers } from '../../src/fs/layers.ts';
import { Listings } from '../../src/fs/listings.ts';
import { SeenLog } from '../../src/fs/seen.ts';

// access.ts decides from the policy alone; the layers are never touched (nothing here hits disk).
function context(): { ctx: FsContext; denials: DenialEvent[] } {
  const denials: DenialEvent[] = [];
  const policy = compilePolicy({
    rules: [
      { pattern: '/src/**', permission: 'write' },
      { pattern: '/docs/**', permission: 'read' },
      { pattern: '/secrets/*.pem', permission: 'view' },
      { pattern: '/deep/**/visible.txt', permission: 'read' },
    ],
  });
  const layers = new Layers({
    source: '/nonexistent/src',
    deltaDir: '/nonexistent/delta',
    index: new DeltaIndex(),
    seen: new SeenLog('/nonexistent/delta/seen.ndjson'),
    quotaBytes: 0,
    fileOwner: null,
  });
  const ctx: FsContext = {
    sandboxId: 'sb',
    policy,
    layers,
    owner: { uid: 1, gid: 1 },
    handles: new Map(),
    nativeIo: true,
    attrCache: null,
    listings: new Listings(),
    onDenial: (e) => denials.push(e),
  };
  return { ctx, denials };
}

function errnoOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof Errno) return err.errno;
    throw err;
  }
  return undefined;
}

describe('levelOf / visible', () => {
  it('takes the policy level, except for reserved names which never exist', () => {
    const { ctx } = context();
    expect(levelOf(ctx, '/src/a.ts')).toBe('write');
    expect(levelOf(ctx, '/docs/x.md')).toBe('read');
    expect(levelOf(ctx, '/secrets/k.pem')).toBe('view');
    expect(levelOf(ctx, '/other')).toBe('none');
    expect(levelOf(ctx, '/src/.cordon-wh.a')).toBe('none');
  });

  it('shows none paths only as traversable directories leading to something visible', () => {
    const { ctx } = context();
    expect(visible(ctx, '/', 'none', true)).toBe(true);
    expect(visible(ctx, '/deep', 'none', true)).toBe(true);
    expect(visible(ctx, '/deep', 'none', false)).toBe(false);
    expect(visible(ctx, '/other', 'none', true)).toBe(false);
    expect(visible(ctx, '/deep/.cordon-x', 'none', true)).toBe(false);
    expect(visible(ctx, '/docs/x.md', 'read', false)).toBe(true);
  });
});

describe('requireOn', () => {
  it('passes at or above the required level', () => {
    const { ctx, denials } = context();
    expect(requireOn(ctx, 'open', '/src/a', 'write', () => true)).toBe('write');
    expect(requireOn(ctx, 'open', '/docs/a', 'read', () => true)).toBe('read');
    expect(denials).toEqual([]);
  });

  it('answers EACCES below it and audits the denial with both levels', () => {
    const { ctx, denials } = context();
    expect(errnoOf(() => requireOn(ctx, 'write', '/docs/a', 'write', () => true))).toBe(E.EACCES);
    expect(errnoOf(() => requireOn(ctx, 'open', '/secrets/k.pem', 'read', () => true))).toBe(
      E.EACCES,
    );
    expect(denials.map((d) => [d.op, d.path, d.level, d.required, d.sandboxId])).toEqual([
      ['write', '/docs/a', 'read', 'write', 'sb'],
      ['open', '/secrets/k.pem', 'view', 'read', 'sb'],
    ]);
  });

  it('answers ENOENT on a none path, auditing only real probes', () => {
    const { ctx, denials } = context();
    expect(errnoOf(() => requireOn(ctx, 'getattr', '/other', 'view', () => false))).toBe(E.ENOENT);
    expect(denials).toEqual([]);
    expect(errnoOf(() => requireOn(ctx, 'getattr', '/other', 'view', () => true))).toBe(E.ENOENT);
    expect(denials).toHaveLength(1);
    expect(denials[0]).toMatchObject({ path: '/other', level: 'none', required: 'view' });
  });
});

describe('requireCreate', () => {
  it('allows creating only at write level', () => {
    const { ctx } = context();
    expect(errnoOf(() => requireCreate(ctx, 'create', '/src/new'))).toBeUndefined();
  });

  it.each(['/docs/new', '/secrets/new.pem', '/other/new', '/src/.cordon-opaque'])(
    'refuses %s with EACCES whether or not something is there',
    (p) => {
      const { ctx, denials } = context();
      expect(errnoOf(() => requireCreate(ctx, 'create', p))).toBe(E.EACCES);
      expect(denials).toHaveLength(1);
      expect(denials[0]!.required).toBe('write');
    },
  );
});

describe('refuse', () => {
  it('returns the errno to throw and audits with the path level', () => {
    const { ctx, denials } = context();
    const e = refuse(ctx, 'rmdir', '/docs/a', 'write', E.EACCES);
    expect(e.errno).toBe(E.EACCES);
    expect(denials[0]).toMatchObject({ op: 'rmdir', path: '/docs/a', level: 'read' });
  });
});
