// In-process serialisation of commits per codebase, in arrival order, so concurrent commits from one
// node agent wait on a promise instead of polling the cross-process lock file. One queue per node
// agent, passed to every commit (no module-level state).

export class CommitQueue {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `task` after every task queued earlier under `key` has settled. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Keys with queued or running tasks (for diagnostics). */
  get busyKeys(): string[] {
    return [...this.#tails.keys()];
  }
}
