// Redis hashes store strings; these helpers keep the encoding of nullable/JSON fields in one place.

export function encodeJson(value: unknown): string {
  return value === null || value === undefined ? '' : JSON.stringify(value);
}

export function decodeJson(raw: string | undefined): unknown {
  return raw ? (JSON.parse(raw) as unknown) : null;
}

export function encodeInt(value: number | null): string {
  return value === null ? '' : String(value);
}

export function decodeInt(raw: string | undefined): number | null {
  return raw ? Number(raw) : null;
}
