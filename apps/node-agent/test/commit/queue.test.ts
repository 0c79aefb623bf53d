import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { CommitQueue } from '../../src/commit/queue.ts';

describe('CommitQueue', () => {
  it('runs tasks of one key one at a time, in order, surviving failures', async () => {
    const queue = new CommitQueue();
    const log: string[] = [];
    const task =
      (name: string, fail = false) =>
      async (): Promise<string> => {
        log.push(`start ${name}`);
        await sleep(5);
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([
      queue.run('k', task('a')),
      queue.run('k', task('b', true)),
      queue.run('k', task('c')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(queue.busyKeys).toEqual([]);
  });

  it('runs different keys concurrently', async () => {
    const queue = new CommitQueue();
    const log: string[] = [];
    const task = (name: string) => async (): Promise<void> => {
      log.push(`start ${name}`);
      await sleep(5);
      log.push(`end ${name}`);
    };
    await Promise.all([queue.run('x', task('x')), queue.run('y', task('y'))]);
    expect(log.slice(0, 2).sort()).toEqual(['start x', 'start y']);
  });
});
