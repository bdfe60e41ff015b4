import { createHash } from 'node:crypto';

/** Longest name segment we write: local filesystems stop at 255 bytes, and S3 keys at 1,024. */
const MAX_SEGMENT_BYTES = 200;

/**
 * Makes a Drive name safe as one key segment, deterministically and reversibly enough to stay unique:
 * `%`, `/`, `\` and control characters are percent-encoded, `.` and `..` never stand alone, and a name
 * too long for a filesystem is cut at a character boundary with a hash of the whole name appended.
 */
export function safeSegment(name: string): string {
  let safe = name.replace(/[%/\\\u0000-\u001f\u007f]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  if (safe === '') safe = '%00';
  if (safe === '.' || safe === '..') safe = safe.replace(/\./g, '%2E');
  if (Buffer.byteLength(safe) <= MAX_SEGMENT_BYTES) return safe;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 12);
  const ext = extensionOf(safe);
  const keep = MAX_SEGMENT_BYTES - Buffer.byteLength(`~${hash}${ext}`);
  return `${truncateUtf8(safe.slice(0, safe.length - ext.length), keep)}~${hash}${ext}`;
}

/** `.pdf` of `report.pdf`; nothing for `.bashrc`, `archive.` or an extension longer than 10 characters. */
export function extensionOf(name: string): string {
  const m = name.match(/(?<=.)\.[A-Za-z0-9]{1,10}$/);
  return m ? m[0] : '';
}

function truncateUtf8(text: string, maxBytes: number): string {
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch) > maxBytes) break;
    out += ch;
  }
  return out;
}

/** `Budget` exported as xlsx is `Budget.xlsx`; `report.pdf` stays `report.pdf`. */
export function objectFileName(name: string, exportExtension: string | undefined): string {
  return exportExtension ? `${name}.${exportExtension}` : name;
}

/** Puts ` [<tag>]` before the extension: how every colliding item but the oldest is told apart. */
export function disambiguate(segment: string, tag: string): string {
  const ext = extensionOf(segment);
  return `${segment.slice(0, segment.length - ext.length)} [${tag}]${ext}`;
}

export interface SiblingEntry {
  fileId: string;
  createdTime: string;
  /** The unsafe file name, with any export extension added. */
  name: string;
}

/**
 * Assigns each sibling a unique segment: the oldest item (created first, then lowest id) of each group
 * whose safe names collide keeps the plain name; every other one gets its id prefix. The same siblings
 * always give the same segments, so re-runs never flip keys.
 */
export function uniqueSegments(siblings: SiblingEntry[]): Map<string, string> {
  const groups = new Map<string, SiblingEntry[]>();
  for (const s of siblings) {
    const seg = safeSegment(s.name);
    const group = groups.get(seg);
    if (group) group.push(s);
    else groups.set(seg, [s]);
  }
  const out = new Map<string, string>();
  const taken = new Set(groups.keys());
  for (const [seg, members] of groups) {
    members.sort((a, b) => (a.createdTime === b.createdTime ? (a.fileId < b.fileId ? -1 : 1) : a.createdTime < b.createdTime ? -1 : 1));
    out.set(`${members[0].fileId}\u0000${members[0].name}`, seg);
    for (const m of members.slice(1)) {
      let candidate = disambiguate(seg, m.fileId.slice(0, 8));
      // An item could already be named like a disambiguated one: fall back to the whole id.
      if (taken.has(candidate)) candidate = disambiguate(seg, m.fileId);
      taken.add(candidate);
      out.set(`${m.fileId}\u0000${m.name}`, candidate);
    }
  }
  return out;
}
