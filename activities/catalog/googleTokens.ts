import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import type { Catalog } from './catalog';

/** An account's refresh token as the catalog keeps it: encrypted (activities/drive/tokenCipher.ts), never in clear. */
export interface StoredGoogleToken {
  account: string;
  clientId: string;
  sealed: { iv: Buffer; ciphertext: Buffer; tag: Buffer };
  scope: string;
  googleUser: string | null;
  storedAt: string;
}

interface Row {
  account: string;
  client_id: string;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
  scope: string;
  google_user: string | null;
  stored_at: string;
}

const SELECT = 'SELECT account, client_id, iv, ciphertext, tag, scope, google_user, stored_at FROM google_tokens WHERE account = ?';

const fromRow = (r: Row): StoredGoogleToken => ({
  account: r.account,
  clientId: r.client_id,
  sealed: { iv: r.iv, ciphertext: r.ciphertext, tag: r.tag },
  scope: r.scope,
  googleUser: r.google_user,
  storedAt: r.stored_at,
});

/** Stores (or replaces) the account's token. */
export function saveGoogleToken(catalog: Catalog, token: StoredGoogleToken): void {
  catalog.db
    .prepare(
      `INSERT INTO google_tokens (account, client_id, iv, ciphertext, tag, scope, google_user, stored_at)
       VALUES (@account, @clientId, @iv, @ciphertext, @tag, @scope, @googleUser, @storedAt)
       ON CONFLICT (account) DO UPDATE SET client_id = excluded.client_id, iv = excluded.iv, ciphertext = excluded.ciphertext,
         tag = excluded.tag, scope = excluded.scope, google_user = excluded.google_user, stored_at = excluded.stored_at`,
    )
    .run({ ...token, ...token.sealed });
}

export function storedGoogleToken(catalog: Catalog, account: string): StoredGoogleToken | undefined {
  const row = catalog.db.prepare(SELECT).get(account) as Row | undefined;
  return row && fromRow(row);
}

/**
 * The account's token read from the catalog file at `path`, read-only and without migrating it: for a Drive client
 * built before (or without) the catalog. None when this host has no such file, or it predates stored tokens.
 */
export function storedGoogleTokenInFile(path: string, account: string): StoredGoogleToken | undefined {
  if (path === ':memory:' || !existsSync(path)) return undefined;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const hasTable = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'google_tokens'`).get() !== undefined;
    const row = hasTable ? (db.prepare(SELECT).get(account) as Row | undefined) : undefined;
    return row && fromRow(row);
  } finally {
    db.close();
  }
}
