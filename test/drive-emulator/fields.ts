import { DriveApiError } from './errors';

/** A parsed field mask: each selected key maps to its sub-mask, or `true` for the whole value. */
export type FieldMask = Map<string, FieldMask | true>;

/**
 * Parses a Drive field mask: `a,b(c,d),e/f`, with spaces allowed and `*` for everything.
 * The nested form `files(id,name)` and the path form `files/id` mean the same.
 */
export function parseFieldMask(text: string): FieldMask {
  let pos = 0;
  const fail = (): never => {
    throw new DriveApiError(400, 'invalid', `Invalid field selection ${text}`, 'global', 'fields');
  };
  const skipSpaces = () => {
    while (text[pos] === ' ') pos++;
  };
  const parseList = (mask: FieldMask, closing: string | undefined): void => {
    for (;;) {
      skipSpaces();
      parsePath(mask);
      skipSpaces();
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      if (closing ? text[pos] === closing : pos === text.length) return;
      fail();
    }
  };
  const parsePath = (mask: FieldMask): void => {
    const start = pos;
    while (pos < text.length && /[A-Za-z0-9_*]/.test(text[pos])) pos++;
    const name = text.slice(start, pos);
    if (!name) fail();
    skipSpaces();
    if (text[pos] === '/' || text[pos] === '(') {
      // `a,a(b)`: the whole of `a` stays selected; the sub-selection is parsed but does not narrow it.
      const existing = mask.get(name);
      const sub: FieldMask = existing instanceof Map ? existing : new Map();
      if (text[pos] === '/') {
        pos++;
        parsePath(sub);
      } else {
        pos++;
        parseList(sub, ')');
        pos++;
      }
      if (existing !== true) mask.set(name, sub);
    } else {
      mask.set(name, true);
    }
  };
  const mask: FieldMask = new Map();
  if (text.trim() === '') fail();
  parseList(mask, undefined);
  return mask;
}

/** Keeps only the masked keys of `value`, recursing into objects and arrays; unknown keys are an error. */
export function applyFieldMask(value: unknown, mask: FieldMask, known: (path: string) => boolean, path = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => applyFieldMask(v, mask, known, path));
  if (value === null || typeof value !== 'object') return value;
  if (mask.has('*')) return value;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, sub] of mask) {
    const keyPath = path ? `${path}.${key}` : key;
    if (!known(keyPath)) {
      throw new DriveApiError(400, 'invalid', `Invalid field selection ${key}`, 'global', 'fields');
    }
    if (!(key in source) || source[key] === undefined) continue;
    out[key] = sub === true ? source[key] : applyFieldMask(source[key], sub, known, keyPath);
  }
  return out;
}
