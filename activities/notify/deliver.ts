import type { Logger } from '../../common/logger';
import type { Catalog } from '../catalog/catalog';
import { channelsSent, recordNoticeSent } from '../catalog/noticesSent';
import type { Notifications } from './channels';
import type { Notice } from './notice';

export interface DeliveryDeps {
  catalog: Catalog;
  logger: Logger;
  notifications: Notifications;
  /** The activity's cancellation: a channel stops waiting once Temporal gives up on the try. */
  signal?: AbortSignal;
}

/**
 * Sends a notice on every channel that has not had it yet, and records each delivery in the catalog, so a retry (of
 * the activity, or by a later run) sends it only where it is missing. Returns the channels that failed, each with why.
 */
export function deliverNotice(deps: DeliveryDeps, notice: Notice, context: Record<string, unknown>): Promise<string[]> {
  return deliverParts(deps, [notice.id], () => notice, context);
}

/**
 * Sends a notice made of parts remembered one by one (destinations' turns): each channel gets, in one notice, the
 * parts it has not had, so a channel that was down gets them later and the others never get them twice.
 */
export async function deliverParts(
  deps: DeliveryDeps,
  partIds: string[],
  noticeOf: (parts: number[]) => Notice,
  context: Record<string, unknown>,
): Promise<string[]> {
  const sent = partIds.map((id) => channelsSent(deps.catalog, id));
  const failed: string[] = [];
  for (const channel of deps.notifications.channels) {
    const missing = partIds.flatMap((_, i) => (sent[i]!.has(channel.name) ? [] : [i]));
    if (missing.length === 0) continue;
    const notice = noticeOf(missing);
    const event = { ...context, notice: notice.id, kind: notice.event, channel: channel.name };
    try {
      await channel.send(notice, deps.signal);
      const at = new Date().toISOString();
      for (const i of missing) recordNoticeSent(deps.catalog, partIds[i]!, channel.name, at);
      deps.logger.info({ event: 'notification.sent', ...event }, `${notice.event} notice sent by ${channel.name}`);
    } catch (err) {
      const message = (err as Error).message;
      failed.push(message);
      deps.logger.warn({ event: 'notification.failed', ...event, err: message }, `${notice.event} notice not delivered by ${channel.name}`);
    }
  }
  return failed;
}
