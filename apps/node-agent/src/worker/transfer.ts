// The node's side of a codebase transfer: it dials the dispatching gateway's transfer endpoint
// (so nodes behind NAT work) with the cluster token, and GETs an upload or PUTs an export.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { NODE_ID_HEADER, TRANSFER_ERROR_HEADER, type ErrorInfo } from '@cordon/protocol';
import { WorkerError } from './errors.ts';

export interface TransferAuth {
  readonly nodeId: string;
  readonly clusterToken: string;
}

function headers(auth: TransferAuth): Record<string, string> {
  return { authorization: `Bearer ${auth.clusterToken}`, [NODE_ID_HEADER]: auth.nodeId };
}

function requestFn(url: URL) {
  return url.protocol === 'https:' ? httpsRequest : httpRequest;
}

/** GETs the uploaded bytes; resolves with the response stream once the gateway answers 200. */
export function pullUpload(url: string, auth: TransferAuth): Promise<IncomingMessage> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = requestFn(u)(u, { method: 'GET', headers: headers(auth) }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(
          new WorkerError(
            'CONFLICT',
            `the gateway has no upload waiting (HTTP ${res.statusCode}); the client may have gone — upload again`,
          ),
        );
        return;
      }
      resolve(res);
    });
    req.once('error', (err) =>
      reject(
        new WorkerError('INTERNAL', `cannot reach the gateway for the upload: ${err.message}`),
      ),
    );
    req.end();
  });
}

/** PUTs `body` to the gateway, which streams it to the waiting client. */
export function pushExport(url: string, auth: TransferAuth, body: Readable): Promise<void> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = requestFn(u)(
      u,
      {
        method: 'PUT',
        headers: { ...headers(auth), 'content-type': 'application/x-tar' },
      },
      (res) => {
        res.resume();
        if (res.statusCode === 200 || res.statusCode === 204) resolve();
        else
          reject(
            new WorkerError('CONFLICT', `the gateway refused the export (HTTP ${res.statusCode})`),
          );
      },
    );
    req.once('error', (err) =>
      reject(new WorkerError('INTERNAL', `export to the gateway failed: ${err.message}`)),
    );
    body.once('error', (err) => req.destroy(err));
    body.pipe(req);
  });
}

/** Tells the gateway the export failed, so its client gets the error instead of waiting. */
export function pushExportError(url: string, auth: TransferAuth, error: ErrorInfo): Promise<void> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const req = requestFn(u)(
      u,
      {
        method: 'PUT',
        headers: { ...headers(auth), [TRANSFER_ERROR_HEADER]: JSON.stringify(error) },
      },
      (res) => {
        res.resume();
        resolve();
      },
    );
    req.once('error', () => resolve());
    req.end();
  });
}
