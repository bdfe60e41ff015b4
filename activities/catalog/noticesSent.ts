import type { Catalog } from './catalog';

/** The channels a notice was delivered on, so a retry sends it only where it is missing. */
export function channelsSent(catalog: Catalog, notice: string): Set<string> {
  const rows = catalog.db.prepare('SELECT channel FROM notices_sent WHERE notice = ?').all(notice) as Array<{ channel: string }>;
  return new Set(rows.map((r) => r.channel));
}

export function recordNoticeSent(catalog: Catalog, notice: string, channel: string, now: string): void {
  catalog.db
    .prepare('INSERT INTO notices_sent (notice, channel, sent_at) VALUES (?, ?, ?) ON CONFLICT (notice, channel) DO NOTHING')
    .run(notice, channel, now);
}

/** Records of deliveries older than `before` are forgotten: a retry never comes that late. */
export function forgetNoticesSentBefore(catalog: Catalog, before: string): number {
  return catalog.db.prepare('DELETE FROM notices_sent WHERE sent_at < ?').run(before).changes;
}
