import type { Catalog, FileState } from './catalog';

/** A file that did not reach a destination, still open: the next transfer that gets it there resolves it. */
export interface OpenFailure {
  failureId: number;
  fileId: string;
  destination: string | null;
  runId: string | null;
  attempts: number;
  reason: string;
  message: string;
  firstFailedAt: string;
  lastFailedAt: string;
  /** The file's object key (its first format's): its place in the backup, below each destination's prefix. */
  file: { name: string; state: FileState | null; gone: string | null; key: string | null };
}

/** Open failures newest first, `limit` of them before the failure `beforeId`; from the open-failures index. */
export function openFailuresPage(catalog: Catalog, input: { limit: number; beforeId?: number }): OpenFailure[] {
  const rows = catalog.db
    .prepare(
      `SELECT fl.id, fl.file_id, fl.destination, fl.run_id, fl.attempts, fl.reason, fl.message, fl.first_failed_at, fl.last_failed_at,
         f.name, f.state, f.gone, (SELECT k.key FROM object_keys k WHERE k.holder = f.id ORDER BY k.format LIMIT 1) AS key
       FROM failures fl JOIN files f ON f.id = fl.file_id
       WHERE fl.resolved_at IS NULL AND fl.id < @beforeId ORDER BY fl.id DESC LIMIT @limit`,
    )
    .all({ beforeId: input.beforeId ?? Number.MAX_SAFE_INTEGER, limit: input.limit }) as Array<Record<string, unknown>>;
  return rows.map((r) => ({
    failureId: r.id as number,
    fileId: r.file_id as string,
    destination: r.destination as string | null,
    runId: r.run_id as string | null,
    attempts: r.attempts as number,
    reason: r.reason as string,
    message: r.message as string,
    firstFailedAt: r.first_failed_at as string,
    lastFailedAt: r.last_failed_at as string,
    file: { name: r.name as string, state: r.state as FileState | null, gone: r.gone as string | null, key: r.key as string | null },
  }));
}

/**
 * What asking to retry one file did: `requeued` (it was failed or deferred, and is pending now), `pending` (it already
 * was: a failure found by verification puts its file back at once), `nothing` (it is synced with no open failure, or
 * gone from Drive), `unknown` (the catalog has no such file).
 */
export type FileRetry = 'requeued' | 'pending' | 'nothing' | 'unknown';

/** Puts one failed or deferred file back to pending, so the next run transfers it; its failures stay open until then. */
export function requeueFailedFile(catalog: Catalog, fileId: string): FileRetry {
  return catalog.db.transaction((): FileRetry => {
    const file = catalog.db.prepare('SELECT state, gone FROM files WHERE id = ?').get(fileId) as
      | { state: FileState | null; gone: string | null }
      | undefined;
    if (!file) return 'unknown';
    if (file.gone !== null) return 'nothing';
    if (file.state === 'failed' || file.state === 'deferred') {
      catalog.db.prepare(`UPDATE files SET state = 'pending', updated_at = ? WHERE id = ?`).run(new Date().toISOString(), fileId);
      return 'requeued';
    }
    const open = catalog.db.prepare('SELECT 1 FROM failures WHERE file_id = ? AND resolved_at IS NULL LIMIT 1').get(fileId);
    return file.state === 'pending' && open ? 'pending' : 'nothing';
  })();
}
