import type { SandboxFs } from '../fs/index.ts';

/**
 * Which live mounts look at which codebase, so that a commit by one sandbox can tell the others
 * that paths changed under them (their next exec must see it). One hub per node agent.
 */
export class CodebaseHub {
  readonly #mounts = new Map<string, Set<SandboxFs>>();

  add(codebaseDir: string, fs: SandboxFs): void {
    let set = this.#mounts.get(codebaseDir);
    if (!set) this.#mounts.set(codebaseDir, (set = new Set()));
    set.add(fs);
  }

  delete(codebaseDir: string, fs: SandboxFs): void {
    const set = this.#mounts.get(codebaseDir);
    set?.delete(fs);
    if (set?.size === 0) this.#mounts.delete(codebaseDir);
  }

  /** Tells every other mount of the codebase that `paths` changed; failures do not stop the rest. */
  async changed(codebaseDir: string, from: SandboxFs, paths: readonly string[]): Promise<void> {
    if (paths.length === 0) return;
    const others = [...(this.#mounts.get(codebaseDir) ?? [])].filter((m) => m !== from);
    await Promise.allSettled(others.map((m) => m.invalidate(paths)));
  }
}
