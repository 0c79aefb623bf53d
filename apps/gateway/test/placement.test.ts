import type { NodeInfo } from '@cordon/protocol';
import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { GatewayError, TRPC_CODE_OF } from '../src/errors.ts';
import { describeError } from '../src/format-error.ts';
import { pathAllowed, pickNode, pickNodeForPath } from '../src/dispatch/placement.ts';

const node = (id: string, o: Partial<NodeInfo> = {}): NodeInfo => ({
  id,
  host: 'h',
  capacity: 4,
  load: 0,
  version: '1',
  startedAtMs: 0,
  heartbeatAtMs: 0,
  allowPaths: [],
  status: 'up',
  sandboxes: 0,
  pendingExecs: 0,
  ...o,
});

describe('placement', () => {
  it('picks the live node with the most free capacity', () => {
    expect(
      pickNode([
        node('a', { load: 3 }),
        node('b', { load: 1 }),
        node('c', { capacity: 8, load: 7 }),
      ])?.id,
    ).toBe('b');
  });
  it('never picks a down node and answers null when none is up', () => {
    expect(pickNode([node('a', { status: 'down' }), node('b', { load: 4 })])?.id).toBe('b');
    expect(pickNode([node('a', { status: 'down' })])).toBeNull();
  });
  it('breaks ties by fewer sandboxes, then id', () => {
    expect(pickNode([node('b'), node('a', { sandboxes: 2 }), node('c')])?.id).toBe('b');
  });
});

describe('errors', () => {
  it('maps every code onto a tRPC code', () => {
    for (const [code, trpc] of Object.entries(TRPC_CODE_OF)) {
      expect(new GatewayError(code as keyof typeof TRPC_CODE_OF, 'm').code).toBe(trpc);
    }
  });
  it('hides internals of unexpected errors', () => {
    const e = new TRPCError({
      code: 'INTERNAL_SERVER_ERROR',
      cause: new Error('/secret/path ECONNREFUSED'),
    });
    const d = describeError(e);
    expect(d.data.cordonCode).toBe('INTERNAL');
    expect(d.message).not.toContain('secret');
  });
});

describe('placement of host-path codebases', () => {
  it('matches allow-list prefixes on path components only', () => {
    expect(pathAllowed('/srv/a', ['/srv/a'])).toBe(true);
    expect(pathAllowed('/srv/a/b', ['/srv/a'])).toBe(true);
    expect(pathAllowed('/srv/ab', ['/srv/a'])).toBe(false);
    expect(pathAllowed('/anything', ['/'])).toBe(true);
    expect(pathAllowed('/srv/a', [])).toBe(false);
  });

  it('picks among live nodes allowing the path, or the named one', () => {
    const nodes = [
      node('a', { allowPaths: ['/home'], load: 3 }),
      node('b', { allowPaths: ['/home'], load: 1 }),
      node('c', { allowPaths: [] }),
      node('d', { allowPaths: ['/home'], status: 'down' }),
    ];
    expect(pickNodeForPath(nodes, '/home/u/p')?.id).toBe('b');
    expect(pickNodeForPath(nodes, '/home/u/p', 'a')?.id).toBe('a');
    expect(pickNodeForPath(nodes, '/home/u/p', 'c')).toBeNull();
    expect(pickNodeForPath(nodes, '/home/u/p', 'd')).toBeNull();
    expect(pickNodeForPath(nodes, '/etc')).toBeNull();
  });
});
