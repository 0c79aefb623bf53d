import type { Level } from './levels.ts';

// The rule sets of Sandbox-RLS/AgentFense's presets, unchanged, so a policy written for it means
// the same thing here.
export const PRESET_NAMES = [
  'agent-safe',
  'read-only',
  'full-access',
  'development',
  'view-only',
] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export interface PresetRule {
  readonly pattern: string;
  readonly permission: Level;
  readonly priority: number;
}

const SECRETS = ['**/.env*', '**/secrets/**', '**/*.key', '**/*.pem'];

export const PRESETS: Readonly<Record<PresetName, readonly PresetRule[]>> = {
  'agent-safe': [
    { pattern: '**/*', permission: 'read', priority: 0 },
    { pattern: '/output/**', permission: 'write', priority: 10 },
    { pattern: '/tmp/**', permission: 'write', priority: 10 },
    ...[...SECRETS, '**/credentials*'].map((pattern) => ({
      pattern,
      permission: 'none' as const,
      priority: 100,
    })),
    { pattern: '**/.git/**', permission: 'none', priority: 50 },
  ],
  'read-only': [{ pattern: '**/*', permission: 'read', priority: 0 }],
  'full-access': [{ pattern: '**/*', permission: 'write', priority: 0 }],
  development: [
    { pattern: '**/*', permission: 'write', priority: 0 },
    ...SECRETS.map((pattern) => ({ pattern, permission: 'none' as const, priority: 100 })),
  ],
  'view-only': [{ pattern: '**/*', permission: 'view', priority: 0 }],
};
