import { DriveApiError } from './errors';

/** The file properties a `q` expression can test. */
export interface QueryableFile {
  name: string;
  mimeType: string;
  parents: string[];
  trashed: boolean;
  modifiedTime: string;
}

export type FilePredicate = (file: QueryableFile) => boolean;

type Token = { kind: 'string'; value: string } | { kind: 'word'; value: string } | { kind: 'op'; value: string };

const invalidQuery = (q: string) => new DriveApiError(400, 'invalid', `Invalid Value: the query "${q}" is not supported`, 'global', 'q');

function tokenize(q: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= q.length) throw invalidQuery(q);
        if (q[i] === '\\') {
          if (q[i + 1] !== "'" && q[i + 1] !== '\\') throw invalidQuery(q);
          value += q[i + 1];
          i += 2;
        } else if (q[i] === "'") {
          i++;
          break;
        } else {
          value += q[i++];
        }
      }
      tokens.push({ kind: 'string', value });
    } else if ('()'.includes(c)) {
      tokens.push({ kind: 'op', value: c });
      i++;
    } else if ('=!<>'.includes(c)) {
      const two = q.slice(i, i + 2);
      const op = ['!=', '<=', '>='].includes(two) ? two : c;
      if (op === '!') throw invalidQuery(q);
      tokens.push({ kind: 'op', value: op });
      i += op.length;
    } else if (/[A-Za-z]/.test(c)) {
      const start = i;
      while (i < q.length && /[A-Za-z0-9_]/.test(q[i])) i++;
      tokens.push({ kind: 'word', value: q.slice(start, i) });
    } else {
      throw invalidQuery(q);
    }
  }
  return tokens;
}

const comparisons: Record<string, (a: string, b: string) => boolean> = {
  '=': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

/** Which operators each field accepts, as Drive documents for the fields we support. */
const fieldOperators: Record<string, string[]> = {
  name: ['=', '!=', 'contains'],
  mimeType: ['=', '!=', 'contains'],
  modifiedTime: ['=', '!=', '<', '<=', '>', '>='],
  trashed: ['=', '!='],
};

/**
 * Compiles the subset of Drive's `q` language the emulator supports: `trashed = false`, `'<id>' in parents`,
 * `mimeType = '…'`, `mimeType != '…'`, `modifiedTime > '<RFC 3339>'`, `name = '…'`, `name contains '…'`,
 * joined by `and` / `or` / `not` with parentheses. Anything else is 400 invalid, as Drive answers.
 */
export function compileQuery(q: string): FilePredicate {
  const tokens = tokenize(q);
  let pos = 0;
  const peek = () => tokens[pos];
  const isWord = (t: Token | undefined, w: string) => t?.kind === 'word' && t.value.toLowerCase() === w;

  const parseOr = (): FilePredicate => {
    let left = parseAnd();
    while (isWord(peek(), 'or')) {
      pos++;
      const l = left;
      const r = parseAnd();
      left = (f) => l(f) || r(f);
    }
    return left;
  };
  const parseAnd = (): FilePredicate => {
    let left = parseNot();
    while (isWord(peek(), 'and')) {
      pos++;
      const l = left;
      const r = parseNot();
      left = (f) => l(f) && r(f);
    }
    return left;
  };
  const parseNot = (): FilePredicate => {
    if (isWord(peek(), 'not')) {
      pos++;
      const inner = parseNot();
      return (f) => !inner(f);
    }
    return parsePrimary();
  };
  const parsePrimary = (): FilePredicate => {
    const t = tokens[pos++];
    if (!t) throw invalidQuery(q);
    if (t.kind === 'op' && t.value === '(') {
      const inner = parseOr();
      const close = tokens[pos++];
      if (close?.kind !== 'op' || close.value !== ')') throw invalidQuery(q);
      return inner;
    }
    if (t.kind === 'string') {
      const inTok = tokens[pos++];
      const field = tokens[pos++];
      if (!isWord(inTok, 'in') || !isWord(field, 'parents')) throw invalidQuery(q);
      return (f) => f.parents.includes(t.value);
    }
    if (t.kind !== 'word' || !(t.value in fieldOperators)) throw invalidQuery(q);
    const op = tokens[pos++];
    const value = tokens[pos++];
    const opText = op?.kind === 'word' ? op.value.toLowerCase() : op?.value;
    if (!op || !opText || !fieldOperators[t.value].includes(opText) || !value) throw invalidQuery(q);
    if (t.value === 'trashed') {
      if (value.kind !== 'word' || !['true', 'false'].includes(value.value)) throw invalidQuery(q);
      const want = value.value === 'true';
      return opText === '=' ? (f) => f.trashed === want : (f) => f.trashed !== want;
    }
    if (value.kind !== 'string') throw invalidQuery(q);
    const field = t.value as 'name' | 'mimeType' | 'modifiedTime';
    let operand = value.value;
    if (field === 'modifiedTime') {
      const ms = Date.parse(operand);
      if (Number.isNaN(ms)) throw invalidQuery(q);
      operand = new Date(ms).toISOString();
    }
    if (opText === 'contains') return (f) => f[field].includes(operand);
    const compare = comparisons[opText];
    return (f) => compare(f[field], operand);
  };

  const predicate = parseOr();
  if (pos !== tokens.length) throw invalidQuery(q);
  return predicate;
}
