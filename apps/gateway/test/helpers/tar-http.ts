import { spawn } from 'node:child_process';
import { request } from 'node:http';
import type { Readable } from 'node:stream';

export interface HttpAnswer {
  readonly status: number;
  readonly body: Buffer;
  json<T = unknown>(): T;
}

function answer(status: number, body: Buffer): HttpAnswer {
  return { status, body, json: <T>() => JSON.parse(body.toString('utf8')) as T };
}

/** The gateway's origin from its tRPC URL. */
export function originOf(httpUrl: string): string {
  return new URL(httpUrl).origin;
}

/** `tar -c -C dir .` as a stream (what a client uploads). */
export function tarOf(dir: string): Readable {
  const child = spawn('tar', ['-c', '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return child.stdout;
}

export function putTar(
  origin: string,
  path: string,
  token: string,
  body: Readable | Buffer,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, origin),
      { method: 'PUT', headers: { authorization: `Bearer ${token}` } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b));
        res.once('end', () => resolve(answer(res.statusCode ?? 0, Buffer.concat(parts))));
      },
    );
    req.once('error', reject);
    if (Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}

export function getTar(origin: string, path: string, token: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, origin),
      { method: 'GET', headers: { authorization: `Bearer ${token}` } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b));
        res.once('end', () => resolve(answer(res.statusCode ?? 0, Buffer.concat(parts))));
      },
    );
    req.once('error', reject);
    req.end();
  });
}

/** Member names of a tar held in memory (via `tar -t`). */
export function tarNames(tar: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', ['-t'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.once('error', reject);
    child.once('close', () =>
      resolve(Buffer.concat(out).toString('utf8').split('\n').filter(Boolean)),
    );
    child.stdin.end(tar);
  });
}
