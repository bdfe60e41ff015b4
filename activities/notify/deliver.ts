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
export async function deliverNotice(deps: DeliveryDeps, notice: Notice, context: Record<string, unknown>): Promise<string[]> {
  const sent = channelsSent(deps.catalog, notice.id);
  const failed: string[] = [];
  for (const channel of deps.notifications.channels) {
    if (sent.has(channel.name)) continue;
    const event = { ...context, notice: notice.id, kind: notice.event, channel: channel.name };
    try {
      await channel.send(notice, deps.signal);
      recordNoticeSent(deps.catalog, notice.id, channel.name, new Date().toISOString());
      deps.logger.info({ event: 'notification.sent', ...event }, `${notice.event} notice sent by ${channel.name}`);
    } catch (err) {
      const message = (err as Error).message;
      failed.push(message);
      deps.logger.warn({ event: 'notification.failed', ...event, err: message }, `${notice.event} notice not delivered by ${channel.name}`);
    }
  }
  return failed;
}
