import { describe, expect, it } from 'vitest';
import {
  compilePolicy,
  normalizePath,
  parsePolicy,
  parsePolicyFile,
  parseRuleSpec,
  PolicyError,
  type PolicyIssue,
} from '@cordon/policy';

function issuesOf(fn: () => unknown): readonly PolicyIssue[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    return (err as PolicyError).issues;
  }
  throw new Error('expected a PolicyError');
}

const ok = { pattern: '/a', permission: 'read' };

describe('bad input is a typed error naming the rule index and field', () => {
  it.each([
    ['unknown level', { pattern: '/a', permission: 'admin' }, 'permission'],
    ['empty pattern', { pattern: '', permission: 'read' }, 'pattern'],
    ['.. in pattern', { pattern: '/a/../etc', permission: 'read' }, 'pattern'],
    ['leading ..', { pattern: '../x', permission: 'read' }, 'pattern'],
    ['NUL byte', { pattern: '/a\0b', permission: 'read' }, 'pattern'],
    ['pattern over 4096 bytes', { pattern: '/' + 'é'.repeat(2048), permission: 'read' }, 'pattern'],
    ['non-integer priority', { pattern: '/a', permission: 'read', priority: 1.5 }, 'priority'],
    ['string priority', { pattern: '/a', permission: 'read', priority: '5' }, 'priority'],
    ['unknown type', { pattern: '/a', permission: 'read', type: 'regex' }, 'type'],
    ['missing permission', { pattern: '/a' }, 'permission'],
    ['pattern not a string', { pattern: 42, permission: 'read' }, 'pattern'],
    ['misspelt field', { pattern: '/a', permision: 'read', permission: 'read' }, 'permision'],
  ])('%s', (_name, bad, field) => {
    const issues = issuesOf(() => compilePolicy({ rules: [ok, ok, bad] }));
    expect(issues).toContainEqual(expect.objectContaining({ index: 2, field }));
  });

  it('a pattern of exactly 4096 bytes is fine', () => {
    expect(() =>
      compilePolicy({ rules: [{ pattern: '/' + 'a'.repeat(4095), permission: 'read' }] }),
    ).not.toThrow();
    expect(
      compilePolicy({ rules: [{ pattern: '/' + 'a'.repeat(4095), permission: 'read' }] }).decide(
        '/' + 'a'.repeat(4095),
      ),
    ).toBe('read');
  });

  it('more than 10,000 rules', () => {
    const rules = Array.from({ length: 10_001 }, (_, i) => ({
      pattern: `/f${i}`,
      permission: 'read',
    }));
    expect(issuesOf(() => compilePolicy({ rules }))).toContainEqual(
      expect.objectContaining({ field: 'rules' }),
    );
  });

  it('exactly 10,000 rules compile', () => {
    const rules = Array.from({ length: 10_000 }, (_, i) => ({
      pattern: `/f${i}`,
      permission: 'read' as const,
    }));
    expect(compilePolicy({ rules }).decide('/f9999')).toBe('read');
  });

  it('unknown preset', () => {
    expect(issuesOf(() => compilePolicy({ preset: 'yolo' }))).toContainEqual(
      expect.objectContaining({ field: 'preset' }),
    );
  });

  it('rules not an array, policy not an object, unknown top-level field', () => {
    expect(issuesOf(() => parsePolicy({ rules: 'x' }))).toContainEqual(
      expect.objectContaining({ field: 'rules' }),
    );
    expect(issuesOf(() => parsePolicy('agent-safe')).length).toBeGreaterThan(0);
    expect(issuesOf(() => parsePolicy({ rule: [] }))).toContainEqual(
      expect.objectContaining({ field: 'rule' }),
    );
  });

  it('reports every bad rule, not only the first', () => {
    const issues = issuesOf(() =>
      compilePolicy({
        rules: [{ pattern: '', permission: 'read' }, ok, { pattern: '/b', permission: 'x' }],
      }),
    );
    expect(issues.map((i) => i.index)).toEqual(expect.arrayContaining([0, 2]));
  });

  it('the message says where and what', () => {
    try {
      compilePolicy({ rules: [ok, { pattern: '/a', permission: 'admin' }] });
    } catch (err) {
      expect((err as PolicyError).code).toBe('INVALID_POLICY');
      expect((err as Error).message).toMatch(/^rules\[1\]\.permission: /);
    }
  });

  it('paths with .. or NUL are INVALID_PATH, never resolved', () => {
    const policy = compilePolicy({ preset: 'full-access' });
    for (const bad of ['/a/../b', '..', '/a/..', 'a\0b']) {
      expect(() => policy.decide(bad)).toThrow(PolicyError);
      try {
        policy.decide(bad);
      } catch (err) {
        expect((err as PolicyError).code).toBe('INVALID_PATH');
      }
    }
  });
});

describe('normalizePath', () => {
  it.each([
    ['', '/'],
    ['/', '/'],
    ['a', '/a'],
    ['a/b/', '/a/b'],
    ['//a//b', '/a/b'],
    ['/./a/./b/.', '/a/b'],
    ['/a b/ç', '/a b/ç'],
  ])('%j → %j', (input, expected) => {
    expect(normalizePath(input)).toBe(expected);
  });
});

describe('rule shorthand PATTERN=LEVEL[@PRIORITY]', () => {
  it('parses', () => {
    expect(parseRuleSpec('/src/**=write@20')).toEqual({
      pattern: '/src/**',
      permission: 'write',
      priority: 20,
    });
    expect(parseRuleSpec('**/*.pem=none')).toEqual({ pattern: '**/*.pem', permission: 'none' });
    expect(parseRuleSpec('/a=b=read@-3')).toEqual({
      pattern: '/a=b',
      permission: 'read',
      priority: -3,
    });
  });
  it.each(['nolevel', '=read', '/a=admin', '/a=read@x', '/a=read@1.5'])('rejects %j', (spec) => {
    expect(() => parseRuleSpec(spec)).toThrow(PolicyError);
  });
});

describe('policy files', () => {
  it('reads YAML', () => {
    const input = parsePolicyFile(
      'preset: agent-safe\nrules:\n  - pattern: /src/**\n    permission: write\n    priority: 20\n',
    );
    expect(compilePolicy(input).decide('/src/x.ts')).toBe('write');
  });
  it('reads JSON', () => {
    const input = parsePolicyFile('{"rules":[{"pattern":"/a","permission":"view"}]}');
    expect(compilePolicy(input).decide('/a')).toBe('view');
  });
  it('rejects broken YAML with a typed error', () => {
    expect(issuesOf(() => parsePolicyFile('rules: [\n'))).toContainEqual(
      expect.objectContaining({ field: 'file' }),
    );
  });
  it('rejects duplicate keys (a rule must not silently lose a field)', () => {
    expect(() =>
      parsePolicyFile('rules:\n  - pattern: /a\n    permission: none\n    permission: write\n'),
    ).toThrow(PolicyError);
  });
});
