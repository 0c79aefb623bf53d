/** What a terminal has shown so far, with waits for text to appear in it. */
export class Screen {
  #text = '';
  readonly #waiters = new Set<{ re: RegExp; from: number; done: (seen: boolean) => void }>();

  get text(): string {
    return this.#text;
  }

  push(chunk: string): void {
    this.#text += chunk;
    for (const w of this.#waiters) if (w.re.test(this.#text.slice(w.from))) w.done(true);
  }

  /** Waits until `re` shows in what comes after the screen now, or `ms` passed; true if it did. */
  settle(re: RegExp, ms: number): Promise<boolean> {
    return this.#seen(re, this.#text.length, ms);
  }

  /** Waits until `re` matches the whole screen; throws with the screen after `timeoutMs`. */
  async until(re: RegExp, timeoutMs = 30_000): Promise<void> {
    if (!(await this.#seen(re, 0, timeoutMs))) {
      throw new Error(`no ${re} on the terminal after ${timeoutMs} ms:\n${this.#text}`);
    }
  }

  #seen(re: RegExp, from: number, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (re.test(this.#text.slice(from))) return resolve(true);
      const w = {
        re,
        from,
        done: (ok: boolean) => {
          clearTimeout(timer);
          this.#waiters.delete(w);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => w.done(false), ms);
      this.#waiters.add(w);
    });
  }
}
