import { describe, expect, it } from 'vitest';
import { progress } from '../src/ui/spinner.ts';

function capture(): { write: (s: string) => void; text: () => string } {
  let out = '';
  return { write: (s) => (out += s), text: () => out };
}

describe('progress', () => {
  it('prints plain lines without escapes or carriage returns when stderr is not a terminal', () => {
    const c = capture();
    const p = progress(c.write, false);
    p.update('connecting…');
    p.update('uploading 1/3 files, 10 KiB');
    p.update('uploading 2/3 files, 20 KiB');
    p.update('uploading 3/3 files, 30 KiB');
    p.update('creating the sandbox…');
    p.done('done');
    p.done();
    expect(c.text()).toBe(
      'connecting…\nuploading 1/3 files, 10 KiB\ncreating the sandbox…\ndone\n',
    );
    expect(c.text()).not.toMatch(/[\r\x1b]/);
  });

  it('redraws one line on a terminal and clears it when done', () => {
    const c = capture();
    const p = progress(c.write, true);
    p.update('connecting…');
    p.done('ready');
    expect(c.text()).toMatch(/^\r\x1b\[2K. connecting…\r\x1b\[2Kready\n$/);
  });

  it('prints nothing when quiet (--json)', () => {
    const c = capture();
    const p = progress(c.write, true, true);
    p.update('connecting…');
    p.done('ready');
    expect(c.text()).toBe('');
  });
});
