// Plain HTTP routes beside tRPC, for bytes that must stream:
//   PUT /v1/codebases/<id>/tar   client uploads a tar (or tar.gz) into an `upload` codebase
//   GET /v1/codebases/<id>/tar   client downloads the codebase as a tar (export)
//     (Authorization: Bearer <API token>, same tokens and tenancy as tRPC)
//   GET|PUT /cluster/transfers/<transferId>   the home node pulls an upload / pushes an export
//     (Authorization: Bearer <cluster token>, x-cordon-node: <node id>)
// The gateway queues a transfer job for the codebase's home node and holds the client's request
// unread until the node dials back; then it pipes one stream into the other. Nodes dial out, so
// they may sit behind NAT, as for output.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  CLUSTER_TRANSFER_PREFIX,
  CODEBASE_HTTP_PREFIX,
  ErrorInfoSchema,
  IdSchema,
  jobId,
  NODE_ID_HEADER,
  redisKeys,
  TRANSFER_ERROR_HEADER,
  type ErrorInfo,
} from '@cordon/protocol';
import { bearerToken, lookupToken, type Principal } from '../auth/tokens.ts';
import type { Services } from '../context.ts';
import { clearUploadError, getCodebase, uploadErrorOf } from '../state/codebases.ts';
import { isNodeAlive } from '../state/nodes.ts';
import { sendError, sendJson } from './respond.ts';
import { Transfers } from './transfers.ts';

export interface CodebaseHttpOptions {
  /** How long the home node may take to dial back for a transfer. Default 30 000 ms. */
  readonly nodeDialTimeoutMs?: number;
  /** How long an upload may take from start to the codebase being ready. Default 1 h. */
  readonly uploadTimeoutMs?: number;
}

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

export class CodebaseHttp {
  readonly #s: Services;
  readonly #transfers = new Transfers();
  readonly #dialMs: number;
  readonly #uploadMs: number;

  constructor(services: Services, o: CodebaseHttpOptions = {}) {
    this.#s = services;
    this.#dialMs = o.nodeDialTimeoutMs ?? 30_000;
    this.#uploadMs = o.uploadTimeoutMs ?? 60 * 60 * 1000;
  }

  /** Serves the request if it is one of these routes; false otherwise (caller continues). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    let p: Promise<void> | null = null;
    if (path.startsWith(CODEBASE_HTTP_PREFIX) && path.endsWith('/tar')) {
      const id = path.slice(CODEBASE_HTTP_PREFIX.length, -'/tar'.length);
      if (req.method === 'PUT') p = this.#upload(req, res, id);
      else if (req.method === 'GET') p = this.#export(req, res, id);
      else {
        res.writeHead(405, { allow: 'GET, PUT' }).end();
        return true;
      }
    } else if (path.startsWith(CLUSTER_TRANSFER_PREFIX)) {
      p = this.#node(req, res, path.slice(CLUSTER_TRANSFER_PREFIX.length));
    }
    if (p === null) return false;
    p.catch((err: unknown) => {
      this.#s.log.error({ err, path }, 'codebase transfer failed');
      sendError(res, { code: 'INTERNAL', message: 'internal error in the gateway; retry' });
    });
    return true;
  }

  async #principal(req: IncomingMessage, res: ServerResponse): Promise<Principal | null> {
    const token = bearerToken(req.headers.authorization);
    const principal = token ? await lookupToken(this.#s.redis, token) : null;
    if (!principal) {
      sendError(res, {
        code: 'UNAUTHORIZED',
        message: 'missing or unknown API token; send Authorization: Bearer <token>',
      });
    }
    return principal;
  }

  async #codebase(res: ServerResponse, principal: Principal, id: string) {
    const cb = IdSchema.safeParse(id).success
      ? await getCodebase(this.#s.redis, principal.tenantId, id)
      : null;
    if (!cb) {
      sendError(res, {
        code: 'NOT_FOUND',
        message: `codebase ${id} not found; list yours with codebases.list`,
      });
      return null;
    }
    if (!(await isNodeAlive(this.#s.redis, cb.nodeId))) {
      sendError(res, {
        code: 'NODE_LOST',
        message: `node ${cb.nodeId} (home of codebase ${cb.id}) is down; retry when it is back`,
      });
      return null;
    }
    return cb;
  }

  #transferUrl(id: string): string {
    const u = new URL(this.#s.clusterUrl());
    u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
    u.pathname = CLUSTER_TRANSFER_PREFIX + id;
    u.search = '';
    return u.toString();
  }

  async #upload(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const principal = await this.#principal(req, res);
    if (!principal) return;
    if (principal.scope === 'read') {
      return sendError(res, {
        code: 'FORBIDDEN',
        message: 'this token is read-only; use a token with write scope',
      });
    }
    const cb = await this.#codebase(res, principal, id);
    if (!cb) return;
    if (cb.source !== 'upload' || cb.state !== 'creating') {
      return sendError(res, {
        code: 'CONFLICT',
        message:
          cb.source !== 'upload'
            ? `codebase ${cb.id} is a ${cb.source} codebase; only codebases created with source { kind: 'upload' } take a tar`
            : `codebase ${cb.id} is ${cb.state}; an upload goes into a new codebase`,
      });
    }
    const { redis, queues, doneBus } = this.#s;
    const lock = `${redisKeys.codebase(cb.id)}:uploading`;
    if ((await redis.set(lock, '1', 'PX', this.#uploadMs, 'NX')) !== 'OK') {
      return sendError(res, {
        code: 'CONFLICT',
        message: `an upload into codebase ${cb.id} is already running`,
      });
    }
    try {
      await clearUploadError(redis, cb.id);
      const t = this.#transfers.open(
        { kind: 'upload', nodeId: cb.nodeId, source: req },
        this.#dialMs,
      );
      await queues.add(cb.nodeId, jobId('transfer', t.id), {
        kind: 'codebase.upload',
        requestId: `upload-${t.id}`,
        tenantId: principal.tenantId,
        codebaseId: cb.id,
        transferUrl: this.#transferUrl(t.id),
      });
      if (!(await t.claimed)) {
        req.resume();
        return sendError(res, {
          code: 'TIMEOUT',
          message: `node ${cb.nodeId} did not take the upload within ${this.#dialMs} ms; retry`,
        });
      }
      const outcome = await doneBus.waitFor<{ error: ErrorInfo | null }>(
        `codebase:${cb.id}`,
        async () => {
          const err = await uploadErrorOf(redis, cb.id);
          if (err) return { error: err };
          const cur = await getCodebase(redis, principal.tenantId, cb.id);
          if (!cur || cur.state === 'creating') return null;
          return {
            error:
              cur.state === 'ready'
                ? null
                : (cur.error ?? { code: 'CONFLICT', message: `codebase is ${cur.state}` }),
          };
        },
        this.#uploadMs,
      );
      if (!outcome)
        return sendError(res, { code: 'TIMEOUT', message: 'the upload did not finish in time' });
      if (outcome.error) return sendError(res, outcome.error);
      sendJson(res, 200, await getCodebase(redis, principal.tenantId, cb.id));
    } finally {
      await redis.del(lock);
    }
  }

  async #export(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const principal = await this.#principal(req, res);
    if (!principal) return;
    const cb = await this.#codebase(res, principal, id);
    if (!cb) return;
    if (cb.state !== 'ready') {
      return sendError(res, {
        code: 'CONFLICT',
        message: `codebase ${cb.id} is ${cb.state}; only a ready codebase can be exported`,
      });
    }
    const t = this.#transfers.open({ kind: 'export', nodeId: cb.nodeId, sink: res }, this.#dialMs);
    res.once('close', () => this.#transfers.cancel(t.id));
    await this.#s.queues.add(cb.nodeId, jobId('transfer', t.id), {
      kind: 'codebase.export',
      requestId: `export-${t.id}`,
      tenantId: principal.tenantId,
      codebaseId: cb.id,
      transferUrl: this.#transferUrl(t.id),
    });
    if (!(await t.claimed) && !res.writableEnded) {
      sendError(res, {
        code: 'TIMEOUT',
        message: `node ${cb.nodeId} did not send the export within ${this.#dialMs} ms; retry`,
      });
    }
  }

  /** The node's side of a transfer. */
  #node(req: IncomingMessage, res: ServerResponse, transferId: string): Promise<void> {
    this.#serveNode(req, res, transferId);
    return Promise.resolve();
  }

  #serveNode(req: IncomingMessage, res: ServerResponse, transferId: string): void {
    const token = bearerToken(req.headers.authorization);
    const nodeId = req.headers[NODE_ID_HEADER];
    if (!token || !sameSecret(token, this.#s.options.clusterToken) || typeof nodeId !== 'string') {
      res.writeHead(401).end();
      return;
    }
    const t = this.#transfers.claim(transferId, nodeId);
    if (!t) {
      res.writeHead(404).end();
      return;
    }
    if (t.kind === 'upload' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      t.source.once('aborted', () => res.destroy());
      t.source.pipe(res);
      return;
    }
    if (t.kind === 'export' && req.method === 'PUT') {
      const failure = req.headers[TRANSFER_ERROR_HEADER];
      if (typeof failure === 'string') {
        const info = ErrorInfoSchema.safeParse(JSON.parse(failure));
        sendError(
          t.sink,
          info.success ? info.data : { code: 'INTERNAL', message: 'the export failed on the node' },
        );
        req.resume();
        res.writeHead(204).end();
        return;
      }
      t.sink.writeHead(200, {
        'content-type': 'application/x-tar',
        'content-disposition': `attachment; filename="${transferId.slice(0, 8)}.tar"`,
      });
      t.sink.once('close', () => {
        if (!t.sink.writableFinished) req.destroy();
      });
      req.pipe(t.sink);
      req.once('end', () => res.writeHead(200).end());
      return;
    }
    res.writeHead(405).end();
  }

  close(): void {
    this.#transfers.close();
  }
}
