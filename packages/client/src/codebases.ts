import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  CordonError,
  LocalIoError,
  UnavailableError,
  cordonError,
  toCordonError,
} from './errors.ts';
import type { Transport } from './transport.ts';

/** The fields of a codebase record this client relies on. */
export interface CodebaseInfo {
  readonly id: string;
  readonly nodeId: string;
  readonly state: string;
  readonly source: 'upload' | 'path' | 'empty';
  readonly path: string | null;
  readonly uploadPath: string | null;
}

type CodebaseSource =
  { kind: 'upload' } | { kind: 'empty' } | { kind: 'path'; path: string; nodeId?: string };

/** Codebase calls; untyped until the gateway's AppRouter type carries `codebases`. */
export async function createCodebase(
  t: Transport,
  source: CodebaseSource,
  name?: string,
): Promise<CodebaseInfo> {
  try {
    return (await t.untyped.mutation('codebases.create', {
      source,
      ...(name === undefined ? {} : { name }),
    })) as CodebaseInfo;
  } catch (err) {
    throw toCordonError(err, t.endpoints.origin);
  }
}

export async function deleteCodebase(t: Transport, codebaseId: string): Promise<void> {
  try {
    await t.untyped.mutation('codebases.delete', { codebaseId });
  } catch (err) {
    throw toCordonError(err, t.endpoints.origin);
  }
}

export async function getCodebase(t: Transport, codebaseId: string): Promise<CodebaseInfo> {
  try {
    return (await t.untyped.query('codebases.get', { codebaseId })) as CodebaseInfo;
  } catch (err) {
    throw toCordonError(err, t.endpoints.origin);
  }
}

function unreachable(t: Transport, err: unknown): CordonError {
  const cause = (err as { cause?: { message?: string } }).cause?.message;
  return new UnavailableError(
    'UNAVAILABLE',
    `cannot reach the Cordon gateway at ${t.endpoints.origin} (${cause ?? String(err)}); start one with \`cordon up\` or check the url`,
    { cause: err },
  );
}

async function httpError(res: Response, what: string): Promise<CordonError> {
  const text = await res.text().catch(() => '');
  let code: Parameters<typeof cordonError>[0] = res.status === 404 ? 'NOT_FOUND' : 'INTERNAL';
  let message = `${what} failed: HTTP ${res.status} ${text.slice(0, 300)}`;
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    const c = body.error?.code;
    if (c) code = c as typeof code;
    if (body.error?.message) message = `${what} failed: ${body.error.message}`;
  } catch {
    // not JSON: keep the status line
  }
  if (res.status === 401) code = 'UNAUTHORIZED';
  if (res.status === 403) code = 'FORBIDDEN';
  return cordonError(code, message);
}

/** Streams a tar into an `upload` codebase (`PUT <origin><uploadPath>`); resolves when it is ready. */
export async function uploadTar(
  t: Transport,
  cb: CodebaseInfo,
  body: AsyncIterable<Buffer>,
): Promise<void> {
  const url = new URL(cb.uploadPath ?? `/v1/codebases/${cb.id}/tar`, t.endpoints.origin);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const { status, text } = await new Promise<{ status: number; text: string }>(
    (resolve, reject) => {
      const req = send(
        url,
        {
          method: 'PUT',
          headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/x-tar' },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (b: Buffer) => parts.push(b));
          res.once('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }),
          );
          res.once('error', reject);
        },
      );
      req.once('error', (err) => reject(unreachable(t, err)));
      pipeline(Readable.from(body), req).catch((err: unknown) => {
        req.destroy();
        reject(
          err instanceof CordonError
            ? err
            : new LocalIoError(
                'LOCAL_IO',
                `could not read the directory to upload: ${(err as Error).message}`,
                { cause: err },
              ),
        );
      });
    },
  );
  if (status < 200 || status >= 300) {
    throw await httpError(new Response(text, { status }), `upload of codebase ${cb.id}`);
  }
}

/** The codebase as a tar stream (`GET <origin>/v1/codebases/<id>/tar`). */
export async function exportTar(t: Transport, codebaseId: string): Promise<Readable> {
  const url = `${t.endpoints.origin}/v1/codebases/${codebaseId}/tar`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${t.token}` } });
  } catch (err) {
    throw unreachable(t, err);
  }
  if (!res.ok || !res.body) throw await httpError(res, `export of codebase ${codebaseId}`);
  return Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
}
