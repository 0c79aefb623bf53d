import type { Command } from 'commander';
import type { SandboxOptions } from '@cordon/client';
import { collect } from './flags.ts';
import { policyFromFlags, type PolicyFlags } from './policy-input.ts';
import { parseCount, parseCpus, parseDuration, parseSize } from './units.ts';

export interface SandboxFlags extends PolicyFlags {
  readonly timeout?: string;
  readonly memory?: string;
  readonly cpus?: string;
  readonly pids?: string;
  readonly network?: boolean;
  readonly strict?: boolean;
}

/** The policy and limit flags shared by `run` and `sandbox create`. */
export function addSandboxFlags(cmd: Command, withTimeout: boolean): Command {
  cmd
    .option(
      '--preset <name>',
      'start from a preset: agent-safe (default), read-only, full-access, development, view-only',
    )
    .option(
      '--rule <PATTERN=LEVEL[@PRIORITY]>',
      'add a rule (repeatable), e.g. --rule "/src/**=write@20"',
      collect,
    )
    .option('--policy <file>', 'a policy file (YAML or JSON)');
  if (withTimeout)
    cmd.option(
      '--timeout <duration>',
      'kill the command after this long, e.g. 30s, 5m (default: none)',
    );
  return cmd
    .option('--memory <size>', 'memory limit, e.g. 512m, 2g (default 1g)')
    .option('--cpus <n>', 'CPU limit in cores, e.g. 1, 0.5, 1500m (default 1)')
    .option('--pids <n>', 'process limit (default 512)')
    .option('--network', 'give the sandbox the host network (default: none)')
    .option('--strict', 'strict mode: refuse rules that cannot be enforced exactly');
}

/** Validates every flag (exit 2 naming the bad one) and builds the sandbox options. */
export async function sandboxOptionsOf(
  f: SandboxFlags,
): Promise<{ options: SandboxOptions; timeoutMs: number | undefined }> {
  const policy = await policyFromFlags(f);
  const limits = {
    ...(f.memory === undefined ? {} : { memoryBytes: parseSize('--memory', f.memory) }),
    ...(f.cpus === undefined ? {} : { cpuMillicores: parseCpus('--cpus', f.cpus) }),
    ...(f.pids === undefined ? {} : { pids: parseCount('--pids', f.pids) }),
  };
  const timeoutMs = f.timeout === undefined ? undefined : parseDuration('--timeout', f.timeout);
  return {
    // The compiled (canonical) rules travel: the hash the gateway computes equals ours.
    options: {
      rules: policy.canonical.rules.map((r) => ({ ...r })),
      ...(Object.keys(limits).length ? { limits } : {}),
      network: f.network ? 'host' : 'none',
      strict: f.strict ?? false,
    },
    timeoutMs,
  };
}
