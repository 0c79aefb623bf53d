import { z } from 'zod';

/**
 * Whether `v` is plain JSON (null, boolean, finite number, string, arrays and plain objects of
 * those, no cycles). Pure.
 */
export function isJsonValue(v: unknown, seen: Set<object> = new Set()): boolean {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (typeof v !== 'object') return false;
  if (seen.has(v)) return false;
  seen.add(v);
  const ok = Array.isArray(v)
    ? v.every((x) => isJsonValue(x, seen))
    : Object.getPrototypeOf(v) === Object.prototype &&
      Object.values(v).every((x) => isJsonValue(x, seen));
  seen.delete(v);
  return ok;
}

/**
 * Any JSON value. Not `z.json()`: that schema is recursive (lazy), which schema walkers such as
 * OpenAPI generators cannot traverse.
 */
export const JsonValueSchema = z.custom<JsonValue>((v) => isJsonValue(v), {
  message: 'must be a JSON value (no undefined, NaN, functions or cycles)',
});

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };
