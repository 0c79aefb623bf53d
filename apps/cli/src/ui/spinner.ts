/** A one-line spinner on a TTY; plain lines otherwise (logs, pipes, CI). */
export interface Progress {
  update(text: string): void;
  /** Ends the spinner; `final` stays on screen (TTY) or is printed (otherwise). */
  done(final?: string): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function progress(write: (s: string) => void, isTty: boolean, quiet = false): Progress {
  if (quiet) return { update: () => undefined, done: () => undefined };
  if (!isTty) {
    let last = '';
    return {
      update(text) {
        // Plain mode prints each distinct step once, not every byte-count tick.
        const head = text.replace(/[\d.,]+\s*(B|KiB|MiB|GiB|files?|%)/g, '').trim();
        if (head !== last) write(`${text}\n`);
        last = head;
      },
      done(final) {
        if (final) write(`${final}\n`);
      },
    };
  }
  let text = '';
  let i = 0;
  const draw = () => write(`\r\x1b[2K${FRAMES[i++ % FRAMES.length] ?? ''} ${text}`);
  const timer = setInterval(draw, 80);
  timer.unref();
  return {
    update(t) {
      text = t;
      draw();
    },
    done(final) {
      clearInterval(timer);
      write('\r\x1b[2K');
      if (final) write(`${final}\n`);
    },
  };
}
