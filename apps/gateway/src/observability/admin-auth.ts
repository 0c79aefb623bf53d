import type { IncomingMessage } from 'node:http';
import type { Redis } from 'ioredis';
import { bearerToken, lookupToken } from '../auth/tokens.ts';

export type AdminCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 401 | 403; readonly message: string };

/**
 * Operator pages (Bull Board) take the admin token as `Authorization: Bearer <token>` or, so a
 * browser can log in, as the password of HTTP Basic auth (any user name).
 */
export async function checkAdmin(redis: Redis, req: IncomingMessage): Promise<AdminCheck> {
  const header = req.headers.authorization;
  const token = bearerToken(header) ?? basicPassword(header);
  const principal = token ? await lookupToken(redis, token) : null;
  if (!principal) {
    return {
      ok: false,
      status: 401,
      message:
        'send the admin token as Authorization: Bearer <token> (or as the Basic auth password)',
    };
  }
  if (principal.scope !== 'admin') {
    return { ok: false, status: 403, message: 'this needs an admin token' };
  }
  return { ok: true };
}

function basicPassword(header: string | undefined): string | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!m?.[1]) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) || null : null;
}
