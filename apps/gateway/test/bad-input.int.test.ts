// Every procedure of the app router fed bad input (wrong types, oversized values, unknown ids)
// answers a typed error — tRPC code + cordonCode, a message naming the field or id — and changes
// nothing. The procedure list comes from the router itself: a new procedure without a row in
// CASES fails the first test. Real redis-server, gateway and node agent process.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createToken, startGateway, TRPC_CODE_OF, type Gateway } from '@cordon/gateway';
import type { ErrorCode } from '@cordon/protocol';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter, type AppRouter } from '../src/router/index.ts';
import { connect, type TestClient } from './helpers/client.ts';
import { startNodeProcess, type NodeProcess } from './helpers/node-process.ts';
import { startRedisServer, type RedisServer } from './helpers/redis-server.ts';

const CLUSTER_TOKEN = 'test-cluster-token-0123456789abcdef';

interface Fixture {
  sandboxId: string;
  codebaseId: string;
  sessionId: string;
  execId: string;
}

interface BadCase {
  readonly name: string;
  readonly input: (f: Fixture) => unknown;
  readonly code: ErrorCode;
  /** BAD_REQUEST: an issue path (and the message) must name it; NOT_FOUND: the message names the id. */
  readonly names: string;
  readonly admin?: boolean;
}

const ID_129 = `x${'a'.repeat(128)}`;
const KiB = 1024;

// Shorthands for the rows every id-taking procedure shares.
const idCases = (field: string, extra: Record<string, unknown> = {}): BadCase[] => [
  { name: 'missing id', input: () => ({ ...extra }), code: 'BAD_REQUEST', names: field },
  {
    name: 'id is a number',
    input: () => ({ ...extra, [field]: 42 }),
    code: 'BAD_REQUEST',
    names: field,
  },
  {
    name: 'id oversized',
    input: () => ({ ...extra, [field]: ID_129 }),
    code: 'BAD_REQUEST',
    names: field,
  },
  {
    name: 'id with a slash',
    input: () => ({ ...extra, [field]: '../x' }),
    code: 'BAD_REQUEST',
    names: field,
  },
  {
    name: 'unknown id',
    input: () => ({ ...extra, [field]: 'zz_unknown' }),
    code: 'NOT_FOUND',
    names: 'zz_unknown',
  },
  {
    name: 'unknown field',
    input: (f) => ({ ...extra, [field]: 'zz_unknown', bogus: 1, ...fixtureId(f, field) }),
    code: 'BAD_REQUEST',
    names: 'bogus',
  },
];

function fixtureId(f: Fixture, field: string): Record<string, string> {
  const v = (f as unknown as Record<string, string>)[field];
  return v ? { [field]: v } : {};
}

/**
 * `null`: the procedure takes no input (checked below — one that gains an input needs rows).
 * Inputs are functions of the fixture so rows can aim bad values at real objects.
 */
const CASES: Record<string, readonly BadCase[] | null> = {
  health: null,
  'nodes.list': null,
  'policy.validate': [
    { name: 'not an object', input: () => 'agent-safe', code: 'BAD_REQUEST', names: '' },
    { name: 'unknown field', input: () => ({ policy: {}, x: 1 }), code: 'BAD_REQUEST', names: 'x' },
  ],
  'policy.explain': [
    {
      name: 'paths not an array',
      input: () => ({ policy: { preset: 'agent-safe' }, paths: '/a' }),
      code: 'BAD_REQUEST',
      names: 'paths',
    },
    {
      name: 'paths empty',
      input: () => ({ policy: { preset: 'agent-safe' }, paths: [] }),
      code: 'BAD_REQUEST',
      names: 'paths',
    },
    {
      name: 'too many paths',
      input: () => ({
        policy: { preset: 'agent-safe' },
        paths: Array.from({ length: 1001 }, (_, i) => `/f${i}`),
      }),
      code: 'BAD_REQUEST',
      names: 'paths',
    },
    {
      name: 'path oversized',
      input: () => ({ policy: { preset: 'agent-safe' }, paths: ['/' + 'a'.repeat(5000)] }),
      code: 'BAD_REQUEST',
      names: 'paths.0',
    },
    {
      name: 'bad policy',
      input: () => ({ policy: { rules: [{ pattern: '/x', permission: 'root' }] }, paths: ['/x'] }),
      code: 'BAD_REQUEST',
      names: 'policy.rules.0',
    },
  ],
  'codebases.create': [
    { name: 'source missing', input: () => ({}), code: 'BAD_REQUEST', names: 'source' },
    {
      name: 'unknown kind',
      input: () => ({ source: { kind: 'git' } }),
      code: 'BAD_REQUEST',
      names: 'source',
    },
    {
      name: 'relative path',
      input: () => ({ source: { kind: 'path', path: 'rel/dir' } }),
      code: 'BAD_REQUEST',
      names: 'source.path',
    },
    {
      name: 'path oversized',
      input: () => ({ source: { kind: 'path', path: '/' + 'a'.repeat(5000) } }),
      code: 'BAD_REQUEST',
      names: 'source.path',
    },
    {
      name: 'name oversized',
      input: () => ({ source: { kind: 'empty' }, name: 'n'.repeat(201) }),
      code: 'BAD_REQUEST',
      names: 'name',
    },
    {
      name: 'name a number',
      input: () => ({ source: { kind: 'empty' }, name: 7 }),
      code: 'BAD_REQUEST',
      names: 'name',
    },
    {
      name: 'unknown node',
      input: () => ({ source: { kind: 'path', path: '/tmp', nodeId: 'zz_nonode' } }),
      code: 'NOT_FOUND',
      names: 'zz_nonode',
    },
  ],
  'codebases.get': idCases('codebaseId'),
  'codebases.list': [
    { name: 'limit a string', input: () => ({ limit: '10' }), code: 'BAD_REQUEST', names: 'limit' },
    {
      name: 'limit oversized',
      input: () => ({ limit: 1_000_000 }),
      code: 'BAD_REQUEST',
      names: 'limit',
    },
  ],
  'codebases.delete': idCases('codebaseId'),
  'sandboxes.create': [
    { name: 'no policy', input: () => ({}), code: 'BAD_REQUEST', names: 'policy' },
    {
      name: 'unknown preset',
      input: () => ({ preset: 'yolo' }),
      code: 'BAD_REQUEST',
      names: 'preset',
    },
    {
      name: 'memory a string',
      input: () => ({ preset: 'agent-safe', limits: { memoryBytes: '1g' } }),
      code: 'BAD_REQUEST',
      names: 'limits.memoryBytes',
    },
    {
      name: 'memory oversized',
      input: () => ({ preset: 'agent-safe', limits: { memoryBytes: 2 ** 52 } }),
      code: 'BAD_REQUEST',
      names: 'limits.memoryBytes',
    },
    {
      name: 'idle oversized',
      input: () => ({ preset: 'agent-safe', idleTimeoutMs: 8 * 24 * 3600_000 }),
      code: 'BAD_REQUEST',
      names: 'idleTimeoutMs',
    },
    {
      name: 'network unknown',
      input: () => ({ preset: 'agent-safe', network: 'bridge' }),
      code: 'BAD_REQUEST',
      names: 'network',
    },
    {
      name: 'bad rule',
      input: () => ({ policy: { rules: [{ pattern: '/x', permission: 'all' }] } }),
      code: 'BAD_REQUEST',
      names: 'policy.rules.0',
    },
    {
      name: 'unknown codebase',
      input: () => ({ preset: 'agent-safe', codebaseId: 'zz_unknown' }),
      code: 'NOT_FOUND',
      names: 'zz_unknown',
    },
  ],
  'sandboxes.get': idCases('sandboxId'),
  'sandboxes.list': [
    { name: 'limit zero', input: () => ({ limit: 0 }), code: 'BAD_REQUEST', names: 'limit' },
    {
      name: 'limit fractional',
      input: () => ({ limit: 1.5 }),
      code: 'BAD_REQUEST',
      names: 'limit',
    },
  ],
  'sandboxes.destroy': idCases('sandboxId'),
  'sandboxes.exec': [
    ...idCases('sandboxId', { argv: ['true'] }),
    {
      name: 'argv a string',
      input: (f) => ({ sandboxId: f.sandboxId, argv: 'ls -la' }),
      code: 'BAD_REQUEST',
      names: 'argv',
    },
    {
      name: 'argv empty',
      input: (f) => ({ sandboxId: f.sandboxId, argv: [] }),
      code: 'BAD_REQUEST',
      names: 'argv',
    },
    {
      name: 'argument oversized',
      input: (f) => ({ sandboxId: f.sandboxId, argv: ['echo', 'a'.repeat(129 * KiB)] }),
      code: 'BAD_REQUEST',
      names: 'argv.1',
    },
    {
      name: 'cwd escapes',
      input: (f) => ({ sandboxId: f.sandboxId, argv: ['true'], cwd: '/a/../..' }),
      code: 'BAD_REQUEST',
      names: 'cwd',
    },
    {
      name: 'env name invalid',
      input: (f) => ({ sandboxId: f.sandboxId, argv: ['true'], env: { 'A-B': '1' } }),
      code: 'BAD_REQUEST',
      names: 'env',
    },
    {
      name: 'stdin oversized',
      input: (f) => ({ sandboxId: f.sandboxId, argv: ['cat'], stdin: 'a'.repeat(1025 * KiB) }),
      code: 'BAD_REQUEST',
      names: 'stdin',
    },
    {
      name: 'per-exec memory',
      input: (f) => ({
        sandboxId: f.sandboxId,
        argv: ['true'],
        limits: { memoryBytes: 64 * 1024 * KiB },
      }),
      code: 'BAD_REQUEST',
      names: 'limits.memoryBytes',
    },
  ],
  'sandboxes.handler': [
    ...idCases('sandboxId', { language: 'python', code: 'def handler(e): return e' }),
    {
      name: 'language unknown',
      input: (f) => ({ sandboxId: f.sandboxId, language: 'ruby', code: 'x' }),
      code: 'BAD_REQUEST',
      names: 'language',
    },
    {
      name: 'code a number',
      input: (f) => ({ sandboxId: f.sandboxId, language: 'python', code: 1 }),
      code: 'BAD_REQUEST',
      names: 'code',
    },
    {
      name: 'code oversized',
      input: (f) => ({ sandboxId: f.sandboxId, language: 'python', code: '#'.repeat(1025 * KiB) }),
      code: 'BAD_REQUEST',
      names: 'code',
    },
    {
      name: 'timeout negative',
      input: (f) => ({ sandboxId: f.sandboxId, language: 'python', code: 'x', timeoutMs: -1 }),
      code: 'BAD_REQUEST',
      names: 'timeoutMs',
    },
  ],
  'sandboxes.commits': [
    ...idCases('sandboxId'),
    {
      name: 'limit oversized',
      input: (f) => ({ sandboxId: f.sandboxId, limit: 101 }),
      code: 'BAD_REQUEST',
      names: 'limit',
    },
  ],
  'sessions.create': [
    ...idCases('sandboxId'),
    {
      name: 'idle too short',
      input: (f) => ({ sandboxId: f.sandboxId, idleTimeoutMs: 5 }),
      code: 'BAD_REQUEST',
      names: 'idleTimeoutMs',
    },
    {
      name: 'env value a number',
      input: (f) => ({ sandboxId: f.sandboxId, env: { A: 1 } }),
      code: 'BAD_REQUEST',
      names: 'env.A',
    },
    {
      name: 'env value oversized',
      input: (f) => ({ sandboxId: f.sandboxId, env: { A: 'a'.repeat(129 * KiB) } }),
      code: 'BAD_REQUEST',
      names: 'env.A',
    },
    {
      name: 'pty cols zero',
      input: (f) => ({ sandboxId: f.sandboxId, pty: { cols: 0, rows: 24 } }),
      code: 'BAD_REQUEST',
      names: 'pty.cols',
    },
    {
      name: 'pty term with shell syntax',
      input: (f) => ({ sandboxId: f.sandboxId, pty: { cols: 80, rows: 24, term: '$(id)' } }),
      code: 'BAD_REQUEST',
      names: 'pty.term',
    },
  ],
  'sessions.get': idCases('sessionId'),
  'sessions.exec': [
    ...idCases('sessionId', { command: 'pwd' }),
    {
      name: 'command empty',
      input: (f) => ({ sessionId: f.sessionId, command: '' }),
      code: 'BAD_REQUEST',
      names: 'command',
    },
    {
      name: 'command an array',
      input: (f) => ({ sessionId: f.sessionId, command: ['pwd'] }),
      code: 'BAD_REQUEST',
      names: 'command',
    },
    {
      name: 'command oversized',
      input: (f) => ({ sessionId: f.sessionId, command: 'a'.repeat(129 * KiB) }),
      code: 'BAD_REQUEST',
      names: 'command',
    },
    {
      name: 'outputBytes negative',
      input: (f) => ({ sessionId: f.sessionId, command: 'pwd', outputBytes: -1 }),
      code: 'BAD_REQUEST',
      names: 'outputBytes',
    },
  ],
  'sessions.input': [
    ...idCases('sessionId', { data: 'ls\r' }),
    {
      name: 'data empty',
      input: (f) => ({ sessionId: f.sessionId, data: '' }),
      code: 'BAD_REQUEST',
      names: 'data',
    },
    {
      name: 'data oversized',
      input: (f) => ({ sessionId: f.sessionId, data: 'a'.repeat(65 * KiB) }),
      code: 'BAD_REQUEST',
      names: 'data',
    },
    {
      name: 'unknown encoding',
      input: (f) => ({ sessionId: f.sessionId, data: 'ls', encoding: 'hex' }),
      code: 'BAD_REQUEST',
      names: 'encoding',
    },
    {
      name: 'input to a command shell',
      input: (f) => ({ sessionId: f.sessionId, data: 'ls\r' }),
      code: 'CONFLICT',
      names: 'sessions.exec',
    },
  ],
  'sessions.resize': [
    ...idCases('sessionId', { cols: 80, rows: 24 }),
    {
      name: 'rows oversized',
      input: (f) => ({ sessionId: f.sessionId, cols: 80, rows: 100_000 }),
      code: 'BAD_REQUEST',
      names: 'rows',
    },
    {
      name: 'cols a string',
      input: (f) => ({ sessionId: f.sessionId, cols: '80', rows: 24 }),
      code: 'BAD_REQUEST',
      names: 'cols',
    },
  ],
  'sessions.close': idCases('sessionId'),
  'execs.get': idCases('execId'),
  'execs.output': [
    ...idCases('execId'),
    {
      name: 'lastEventId not a seq',
      input: (f) => ({ execId: f.execId, lastEventId: 'abc' }),
      code: 'BAD_REQUEST',
      names: 'lastEventId',
    },
  ],
  'execs.wait': [
    ...idCases('execId'),
    {
      name: 'waitMs a string',
      input: (f) => ({ execId: f.execId, waitMs: '1s' }),
      code: 'BAD_REQUEST',
      names: 'waitMs',
    },
    {
      name: 'waitMs oversized',
      input: (f) => ({ execId: f.execId, waitMs: 3_600_000 }),
      code: 'BAD_REQUEST',
      names: 'waitMs',
    },
  ],
  'execs.cancel': idCases('execId'),
  'audit.denials': [
    {
      name: 'sandboxId a number',
      input: () => ({ sandboxId: 1 }),
      code: 'BAD_REQUEST',
      names: 'sandboxId',
    },
    {
      name: 'unknown sandbox',
      input: () => ({ sandboxId: 'zz_unknown' }),
      code: 'NOT_FOUND',
      names: 'zz_unknown',
    },
    {
      name: 'lastEventId malformed',
      input: () => ({ lastEventId: 'x-1' }),
      code: 'BAD_REQUEST',
      names: 'lastEventId',
    },
  ],
  'tokens.create': [
    {
      name: 'scope unknown',
      input: () => ({ scope: 'root' }),
      code: 'BAD_REQUEST',
      names: 'scope',
      admin: true,
    },
    {
      name: 'name oversized',
      input: () => ({ scope: 'read', name: 'n'.repeat(201) }),
      code: 'BAD_REQUEST',
      names: 'name',
      admin: true,
    },
    {
      name: 'tenant id invalid',
      input: () => ({ scope: 'read', tenantId: '../b' }),
      code: 'BAD_REQUEST',
      names: 'tenantId',
      admin: true,
    },
  ],
  'tokens.list': [
    {
      name: 'tenant a number',
      input: () => ({ tenantId: 5 }),
      code: 'BAD_REQUEST',
      names: 'tenantId',
      admin: true,
    },
  ],
  'tokens.revoke': [
    {
      name: 'id malformed',
      input: () => ({ id: 'cdn_secret' }),
      code: 'BAD_REQUEST',
      names: 'id',
      admin: true,
    },
    {
      name: 'id oversized',
      input: () => ({ id: `tok_${'0'.repeat(200)}` }),
      code: 'BAD_REQUEST',
      names: 'id',
      admin: true,
    },
  ],
};

interface ProcedureDef {
  _def: { type: 'query' | 'mutation' | 'subscription'; inputs: unknown[] };
}
const procedures = (appRouter._def as unknown as { procedures: Record<string, ProcedureDef> })
  .procedures;

let dir: string;
let redisServer: RedisServer;
let redis: Redis;
let gw: Gateway;
let node: NodeProcess;
let alice: TestClient;
let aliceToken: string;
let adminToken: string;
const fx: Fixture = { sandboxId: '', codebaseId: '', sessionId: '', execId: '' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cordon-bad-'));
  await chmod(dir, 0o755);
  redisServer = await startRedisServer(dir);
  redis = new Redis({ path: redisServer.path });
  gw = await startGateway({
    redis: { path: redisServer.path },
    clusterToken: CLUSTER_TOKEN,
    logger: pino({ level: 'silent' }),
  });
  node = await startNodeProcess({
    nodeId: 'n1',
    redisPath: redisServer.path,
    clusterToken: CLUSTER_TOKEN,
    dataDir: join(dir, 'n1'),
    uidBase: 2_400_000,
  });
  aliceToken = await createToken(redis, { tenantId: 'a', scope: 'write' });
  adminToken = await createToken(redis, { tenantId: 'a', scope: 'admin' });
  alice = connect(gw, aliceToken);
  const cb = await alice.trpc.codebases.create.mutate({ source: { kind: 'empty' } });
  const sb = await alice.trpc.sandboxes.create.mutate({ codebaseId: cb.id, preset: 'agent-safe' });
  const { execId } = await alice.trpc.sandboxes.exec.mutate({ sandboxId: sb.id, argv: ['true'] });
  await alice.trpc.execs.wait.query({ execId });
  const ss = await alice.trpc.sessions.create.mutate({ sandboxId: sb.id });
  Object.assign(fx, { sandboxId: sb.id, codebaseId: cb.id, sessionId: ss.id, execId });
}, 60_000);

afterAll(async () => {
  await alice?.close();
  // Graceful: the agent closes sessions and unmounts, so nothing of it writes into `dir` later.
  await node?.stop();
  await gw?.close();
  redis?.disconnect();
  await redisServer?.stop();
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

interface Answer {
  ok: boolean;
  trpcCode?: string;
  message?: string;
  data?: { cordonCode?: string; issues?: { path: string; message: string }[]; stack?: unknown };
}

/** Raw HTTP (queries: GET ?input=, mutations: POST) so any JSON, typed or not, can be sent. */
async function callHttp(
  path: string,
  type: 'query' | 'mutation',
  input: unknown,
  token: string,
): Promise<Answer> {
  const base = `${gw.httpUrl}/${path}`;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const res =
    type === 'query'
      ? await fetch(`${base}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers })
      : await fetch(base, { method: 'POST', headers, body: JSON.stringify(input) });
  const body = (await res.json()) as {
    error?: { message: string; data: Answer['data'] & { code: string } };
  };
  if (!body.error) return { ok: true };
  return {
    ok: false,
    trpcCode: body.error.data?.code,
    message: body.error.message,
    data: body.error.data,
  };
}

/** Subscriptions over the websocket, as clients use them: the first error (or data) answers. */
async function callWs(path: string, input: unknown, token: string): Promise<Answer> {
  const ws = createWSClient({ url: gw.wsUrl, connectionParams: { token } });
  const trpc = createTRPCClient<AppRouter>({ links: [wsLink({ client: ws })] });
  const proc = path
    .split('.')
    .reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], trpc) as {
    subscribe(
      input: unknown,
      h: { onData(): void; onError(e: unknown): void; onComplete(): void },
    ): { unsubscribe(): void };
  };
  try {
    return await new Promise<Answer>((resolve) => {
      const sub = proc.subscribe(input, {
        onData: () => {
          sub.unsubscribe();
          resolve({ ok: true });
        },
        onComplete: () => resolve({ ok: true }),
        onError: (e) => {
          const err = e as { message: string; data?: Answer['data'] & { code?: string } };
          resolve({ ok: false, trpcCode: err.data?.code, message: err.message, data: err.data });
        },
      });
    });
  } finally {
    await ws.close();
  }
}

/** Everything a rejected call could have created or changed (node heartbeat keys excluded). */
async function snapshot(): Promise<Record<string, unknown>> {
  const keys = (await redis.keys('*')).filter(
    (k) =>
      !k.startsWith('cordon:node:') &&
      k !== 'cordon:nodes' &&
      !/^cordon-bull:[^:]+:(stalled-check|events|meta|metrics:.*)$/.test(k),
  );
  const out: Record<string, unknown> = {};
  for (const k of keys.sort()) {
    const type = await redis.type(k);
    if (type === 'hash') out[k] = await redis.hgetall(k);
    else if (type === 'string') out[k] = await redis.get(k);
    else if (type === 'set') out[k] = (await redis.smembers(k)).sort();
    else if (type === 'zset') out[k] = await redis.zrange(k, '0', '-1');
    else if (type === 'list') out[k] = await redis.lrange(k, 0, -1);
    else if (type === 'stream') out[k] = await redis.xlen(k);
    else out[k] = type;
  }
  return out;
}

describe('bad input', () => {
  it('has cases for every procedure of the router', () => {
    const names = Object.keys(procedures).sort();
    expect(names.length).toBeGreaterThan(20);
    expect(names.filter((n) => !(n in CASES))).toEqual([]);
    expect(Object.keys(CASES).filter((n) => !(n in procedures))).toEqual([]);
    for (const [name, cases] of Object.entries(CASES)) {
      const p = procedures[name] as ProcedureDef;
      if (cases === null) expect(p._def.inputs, `${name} takes input: add cases`).toEqual([]);
      else expect(cases.length, name).toBeGreaterThan(0);
    }
  });

  const rows = Object.entries(CASES).flatMap(([path, cases]) =>
    (cases ?? []).map((c) => ({ path, ...c })),
  );

  it.each(rows)('$path: $name → $code', async (row) => {
    const p = procedures[row.path] as ProcedureDef;
    const token = row.admin ? adminToken : aliceToken;
    const input = row.input(fx);
    const before = await snapshot();
    const answer =
      p._def.type === 'subscription'
        ? await callWs(row.path, input, token)
        : await callHttp(row.path, p._def.type, input, token);
    expect(answer.ok, `${row.path} accepted bad input`).toBe(false);
    expect(answer.trpcCode).toBe(TRPC_CODE_OF[row.code]);
    expect(answer.data?.cordonCode, answer.message).toBe(row.code);
    expect(answer.data?.stack).toBeUndefined();
    if (row.code === 'BAD_REQUEST') {
      // An unknown key is reported under its own path, like any other field.
      const named = (answer.data?.issues ?? []).some(
        (i) => i.path === row.names || i.path.startsWith(`${row.names}.`),
      );
      expect(named, JSON.stringify(answer.data?.issues)).toBe(true);
      expect(answer.message).toContain(row.names);
    } else {
      expect(answer.message).toContain(row.names);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('left the fixture objects intact', async () => {
    expect(await alice.trpc.sandboxes.get.query({ sandboxId: fx.sandboxId })).toMatchObject({
      state: 'ready',
    });
    expect(await alice.trpc.sessions.get.query({ sessionId: fx.sessionId })).toMatchObject({
      state: 'open',
    });
    expect(await alice.trpc.codebases.get.query({ codebaseId: fx.codebaseId })).toMatchObject({
      state: 'ready',
    });
    expect(await alice.trpc.execs.get.query({ execId: fx.execId })).toMatchObject({
      status: 'exited',
    });
  });
});
