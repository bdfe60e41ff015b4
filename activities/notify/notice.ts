import type { NotificationEvent } from '../../common/config';

/** One message, as every channel sends it. */
export interface Notice {
  /** Stable for what it says about a run (`<runId>/failed`): deliveries are recorded under it, so a retry never repeats one. */
  id: string;
  event: NotificationEvent;
  subject: string;
  /** Plain text lines; bullets start with "• ". */
  body: string[];
  /** Where to look further: the run in the Temporal Web UI. */
  link?: { label: string; url: string };
}

/** A way to reach people. `send` rejects with an error that names the channel and what went wrong, never a secret. */
export interface NotificationChannel {
  readonly name: string;
  send(notice: Notice, signal?: AbortSignal): Promise<void>;
}

/** A notice as plain text: the subject, the body, then the link. */
export function noticeText(notice: Notice): string {
  return [notice.subject, '', ...notice.body, ...(notice.link ? ['', `${notice.link.label}: ${notice.link.url}`] : [])].join('\n');
}
