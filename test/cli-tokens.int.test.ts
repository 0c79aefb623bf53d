import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cordonCli } from './helpers/cli.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

// `cordon token` and `cordon nodes` of the real binary against a real stack: --json shapes,
// scopes, revocation. (Split from cli-ops.int.test.ts to keep each file short.)

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack();
});
afterAll(async () => {
  await t?.close();
});

describe('cordon token and cordon nodes', () => {
  it('nodes --json: one record per line', async () => {
    const r = await cordonCli(['nodes', '--json'], { env: t.env });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const node = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    expect(node).toMatchObject({ id: 'local-1', status: 'up', allowPaths: ['/'] });
    expect(typeof node['capacity']).toBe('number');
    expect(typeof node['load']).toBe('number');
  });

  it('tokens: --json shapes, values never listed, scopes enforced, revoked → 125, unknown id → 125', async () => {
    const created = await cordonCli(
      ['token', 'create', '--name', 'reader', '--scope', 'read', '--json'],
      { env: t.env },
    );
    expect(created.code, created.stderr).toBe(0);
    const tok = JSON.parse(created.stdout) as { id: string; token: string; scope: string };
    expect(tok).toMatchObject({ name: 'reader', scope: 'read' });
    expect(tok.id).toMatch(/^tok_/);

    const ls = await cordonCli(['token', 'ls', '--json'], { env: t.env });
    expect(ls.code).toBe(0);
    expect(ls.stdout).not.toContain(tok.token);
    const rows = ls.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.find((r) => r['id'] === tok.id)).toMatchObject({ name: 'reader', scope: 'read' });
    expect(rows.every((r) => !('token' in r))).toBe(true);

    const reader = { ...t.env, CORDON_TOKEN: tok.token };
    const write = await cordonCli(['sandbox', 'create'], { env: reader });
    expect(write.code).toBe(125);
    expect(write.stderr).toMatch(/read-only/);
    const admin = await cordonCli(['token', 'ls'], { env: reader });
    expect(admin.code).toBe(125);
    expect(admin.stderr).toMatch(/admin/);

    const scope = await cordonCli(['token', 'create', '--scope', 'root'], { env: t.env });
    expect(scope.code).toBe(2);
    expect(scope.stderr).toMatch(/--scope root: choose one of read, write, admin/);

    expect((await cordonCli(['token', 'revoke', tok.id], { env: t.env })).code).toBe(0);
    const revoked = await cordonCli(['nodes'], { env: reader });
    expect(revoked.code).toBe(125);
    expect(revoked.stderr).toMatch(/^cordon: [^\n]*token[^\n]*\n$/);
    // Revoking it again (or a mistyped id) must not look like success.
    const again = await cordonCli(['token', 'revoke', tok.id], { env: t.env });
    expect(again.code).toBe(125);
    expect(again.stderr).toContain(tok.id);
    const malformed = await cordonCli(['token', 'revoke', 'nope'], { env: t.env });
    expect(malformed.code).toBe(2);
  });
});
