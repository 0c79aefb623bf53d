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
        // Plain mode prints each distinct step once, not every tick of its counters ("1/3 files,
        // 10 KiB" and "2/3 files, 20 KiB" are the same step).
        const head = text.replace(/\d[\d.,/]*/g, '#');
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
