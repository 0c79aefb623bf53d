import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UnavailableError } from '@cordon/client';
import { causeMessage, createReachability } from '../src/reachability.ts';

const refused = new TypeError('fetch failed', {
  cause: new Error('connect ECONNREFUSED 127.0.0.1:7420'),
});

function setup(o: { socketOpen?: boolean } = {}) {
  const socket = { open: o.socketOpen ?? false };
  const onUnavailable = vi.fn();
  const r = createReachability({
    origin: 'http://127.0.0.1:7420',
    unavailableAfterMs: 1_000,
    socketOpen: () => socket.open,
    onUnavailable,
  });
  const seen: UnavailableError[] = [];
  return { r, socket, onUnavailable, seen, watch: () => r.watch((e) => seen.push(e)) };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('reachability clock', () => {
  it('tells every watcher once the gateway stayed unreachable for the bound', () => {
    const { r, seen, watch, onUnavailable } = setup();
    watch();
    watch();
    r.failed(refused);
    vi.advanceTimersByTime(999);
    r.failed(refused); // a later failure does not restart the clock
    expect(seen).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBeInstanceOf(UnavailableError);
    expect(seen[0]?.code).toBe('UNAVAILABLE');
    expect(seen[0]?.message).toContain('http://127.0.0.1:7420');
    expect(seen[0]?.message).toContain('ECONNREFUSED');
    expect(onUnavailable).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000);
    expect(seen).toHaveLength(2);
  });

  it('an answer in between (a restart) stops the clock', () => {
    const { r, seen, watch } = setup();
    watch();
    r.failed(refused);
    vi.advanceTimersByTime(900);
    r.answered();
    r.failed(refused);
    vi.advanceTimersByTime(900);
    expect(seen).toHaveLength(0);
    vi.advanceTimersByTime(100);
    expect(seen).toHaveLength(1);
  });

  it('failures while the websocket is open do not count', () => {
    const { r, seen, watch, socket } = setup({ socketOpen: true });
    watch();
    r.failed(refused);
    vi.advanceTimersByTime(5_000);
    expect(seen).toHaveLength(0);
    socket.open = false;
    r.failed(refused);
    vi.advanceTimersByTime(1_000);
    expect(seen).toHaveLength(1);
  });

  it('nothing is tracked without watchers, and a new watch gets a fresh bound', () => {
    const { r, seen, watch } = setup();
    r.failed(refused);
    vi.advanceTimersByTime(5_000);
    const stop = watch();
    vi.advanceTimersByTime(5_000);
    expect(seen).toHaveLength(0); // the old failure did not start the clock
    r.failed(refused);
    stop(); // the last watcher left: the clock resets
    watch();
    vi.advanceTimersByTime(999);
    expect(seen).toHaveLength(0);
    r.failed(refused);
    vi.advanceTimersByTime(999);
    expect(seen).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(seen).toHaveLength(1);
  });

  it('an ended watch is not told; close() stops everything', () => {
    const { r, seen, watch } = setup();
    const stop = watch();
    watch();
    r.failed(refused);
    stop();
    vi.advanceTimersByTime(1_000);
    expect(seen).toHaveLength(1);
    watch();
    r.failed(refused);
    r.close();
    vi.advanceTimersByTime(5_000);
    expect(seen).toHaveLength(1);
  });
});

describe('causeMessage', () => {
  it('takes the innermost message of a cause chain or an ErrorEvent', () => {
    expect(causeMessage(refused)).toBe('connect ECONNREFUSED 127.0.0.1:7420');
    expect(causeMessage({ type: 'error', error: new Error('socket hang up') })).toBe(
      'socket hang up',
    );
    expect(causeMessage(undefined)).toBe('');
  });
});
