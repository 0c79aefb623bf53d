import fc from 'fast-check';
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import {
  compilePolicy,
  LEVELS,
  normalizePath,
  type CanonicalRule,
  type Level,
  type Rule,
} from '@cordon/policy';

// Small alphabets so that random rules and random paths actually collide.
const name = fc.constantFrom(
  'a',
  'b',
  'src',
  'docs',
  '.env',
  '.git',
  'x.py',
  'k.pem',
  'secrets',
  'd e',
  'f(1)',
);
const globPart = fc.constantFrom('*', '**', '?', '*.py', '.env*', 'a*', '{a,b}', '[ab]');
const segment = fc.oneof({ weight: 3, arbitrary: name }, { weight: 2, arbitrary: globPart });
const pathArb = fc.array(name, { minLength: 0, maxLength: 5 }).map((s) => '/' + s.join('/'));
const patternArb = fc
  .tuple(
    fc.constantFrom('', '/', '**/'),
    fc.array(segment, { minLength: 1, maxLength: 4 }),
    fc.constantFrom('', '', '/'),
  )
  .map(([lead, segs, trail]) => lead + segs.join('/') + trail);
const ruleArb: fc.Arbitrary<Rule> = fc.record(
  {
    pattern: patternArb,
    permission: fc.constantFrom(...LEVELS),
    type: fc.constantFrom('file', 'directory', 'glob'),
    priority: fc.integer({ min: -2, max: 3 }),
  },
  { requiredKeys: ['pattern', 'permission'] },
);
const rulesArb = fc.array(ruleArb, { maxLength: 12 });
const presetArb = fc.constantFrom(undefined, 'agent-safe', 'development', 'read-only');

const runs = { numRuns: 400 };

// A deliberately naive reference: test every rule, pick the winner by the documented order.
const TYPE = { file: 2, directory: 1, glob: 0 } as const;
function referenceDecide(rules: readonly CanonicalRule[], path: string): Level {
  let best: { r: CanonicalRule; i: number; exact: boolean; prefix: number } | undefined;
  rules.forEach((r, i) => {
    if (!naiveMatch(r, path)) return;
    const meta = /[*?[{]/.exec(r.pattern);
    const literal = r.type === 'glob' && meta ? r.pattern.slice(0, meta.index) : r.pattern;
    const cand = {
      r,
      i,
      exact: r.type === 'file' || (r.type === 'glob' && !meta),
      prefix: literal.length,
    };
    if (!best || beats(cand, best)) best = cand;
  });
  return best ? best.r.permission : 'none';
}
function beats(
  a: { r: CanonicalRule; i: number; exact: boolean; prefix: number },
  b: { r: CanonicalRule; i: number; exact: boolean; prefix: number },
): boolean {
  if (a.r.priority !== b.r.priority) return a.r.priority > b.r.priority;
  if (TYPE[a.r.type] !== TYPE[b.r.type]) return TYPE[a.r.type] > TYPE[b.r.type];
  if (a.exact !== b.exact) return a.exact;
  if (a.prefix !== b.prefix) return a.prefix > b.prefix;
  return a.i > b.i;
}
function naiveMatch(r: CanonicalRule, path: string): boolean {
  switch (r.type) {
    case 'file':
      return path === r.pattern;
    case 'directory':
      return r.pattern === '/' || path === r.pattern.slice(0, -1) || path.startsWith(r.pattern);
    case 'glob': {
      const src = (r.pattern.startsWith('/') ? r.pattern.slice(1) : r.pattern).replace(
        /[()]/g,
        '\\$&',
      );
      return picomatch
        .makeRe(src, { dot: true, noextglob: true, nonegate: true })
        .test(path.slice(1));
    }
  }
}

describe('policy properties (fast-check)', () => {
  it('one compilation, two places: canonical recompiles to the same hash and decisions', () => {
    fc.assert(
      fc.property(
        presetArb,
        rulesArb,
        fc.array(pathArb, { maxLength: 20 }),
        (preset, rules, paths) => {
          const a = compilePolicy(preset ? { preset, rules } : { rules });
          const b = compilePolicy(JSON.parse(JSON.stringify(a.canonical)));
          expect(b.hash).toBe(a.hash);
          expect(b.canonical).toEqual(a.canonical);
          for (const p of paths) {
            expect(b.decide(p)).toBe(a.decide(p));
            expect(b.canTraverse(p)).toBe(a.canTraverse(p));
          }
        },
      ),
      runs,
    );
  });

  it('explain(p).level === decide(p), and explain names the deciding rule', () => {
    fc.assert(
      fc.property(rulesArb, pathArb, (rules, p) => {
        const policy = compilePolicy({ rules });
        const e = policy.explain(p);
        expect(e.level).toBe(policy.decide(p));
        if (e.index === -1) expect(e.level).toBe('none');
        else expect(policy.canonical.rules[e.index]).toEqual(e.rule);
      }),
      runs,
    );
  });

  it('the indexed matcher agrees with a naive scan using the documented tie-break order', () => {
    fc.assert(
      fc.property(
        presetArb,
        rulesArb,
        fc.array(pathArb, { maxLength: 20 }),
        (preset, rules, paths) => {
          const policy = compilePolicy(preset ? { preset, rules } : { rules });
          for (const p of paths)
            expect(policy.decide(p)).toBe(referenceDecide(policy.canonical.rules, p));
        },
      ),
      runs,
    );
  });

  it('every ancestor of a visible path is traversable', () => {
    fc.assert(
      fc.property(presetArb, rulesArb, pathArb, (preset, rules, p) => {
        const policy = compilePolicy(preset ? { preset, rules } : { rules });
        if (policy.decide(p) === 'none') return;
        const segs = p.split('/').filter(Boolean);
        for (let n = 0; n < segs.length; n++) {
          expect(policy.canTraverse('/' + segs.slice(0, n).join('/'))).toBe(true);
        }
      }),
      runs,
    );
  });

  it('a hidden, non-traversable directory hides everything below it', () => {
    fc.assert(
      fc.property(presetArb, rulesArb, pathArb, name, (preset, rules, dir, child) => {
        const policy = compilePolicy(preset ? { preset, rules } : { rules });
        if (policy.canTraverse(dir)) return;
        const below = (dir === '/' ? '' : dir) + '/' + child;
        expect(policy.decide(below)).toBe('none');
      }),
      runs,
    );
  });

  it('noisy spellings of a path decide like the normal one', () => {
    fc.assert(
      fc.property(rulesArb, fc.array(name, { maxLength: 5 }), (rules, segs) => {
        const policy = compilePolicy({ rules });
        const normal = '/' + segs.join('/');
        const noisy = './' + segs.join('//./') + '/';
        expect(normalizePath(noisy)).toBe(normal);
        expect(policy.decide(noisy)).toBe(policy.decide(normal));
      }),
      runs,
    );
  });

  it('a dotfile cannot escape a wildcard rule', () => {
    fc.assert(
      fc.property(fc.constantFrom(...LEVELS), fc.stringMatching(/^[a-z]{1,8}$/), (level, n) => {
        const policy = compilePolicy({ rules: [{ pattern: '/dir/*', permission: level }] });
        expect(policy.decide('/dir/.' + n)).toBe(level);
      }),
      runs,
    );
  });

  it('hash changes when any rule changes', () => {
    fc.assert(
      fc.property(ruleArb, ruleArb, (r1, r2) => {
        const a = compilePolicy({ rules: [r1] });
        const b = compilePolicy({ rules: [r2] });
        expect(a.hash === b.hash).toBe(JSON.stringify(a.canonical) === JSON.stringify(b.canonical));
      }),
      runs,
    );
  });
});
