import { type Notice, type NotificationChannel, noticeText } from './notice';

/** Slack's limits: a header block's text, a section's text. */
const HEADER_MAX = 150;
const SECTION_MAX = 3000;

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
/** Slack's mrkdwn reads &, < and > as markup: a file named "<b>" must stay text. */
const escapeMrkdwn = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The JSON of an incoming webhook message: `text` for every Slack-compatible receiver (Mattermost, Rocket.Chat,
 * Discord's /slack endpoint), and blocks for Slack, which shows them instead.
 */
export function webhookPayload(notice: Notice) {
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(notice.subject, HEADER_MAX) } },
    { type: 'section', text: { type: 'mrkdwn', text: clip(escapeMrkdwn(notice.body.join('\n')), SECTION_MAX) } },
  ];
  if (notice.link)
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${notice.link.url}|${escapeMrkdwn(notice.link.label)}>` }] });
  return { text: escapeMrkdwn(noticeText(notice)), blocks };
}

/**
 * Posts notices to a Slack-compatible webhook. The URL may hold the secret (Slack's do), so errors name only its
 * origin; header values come from the environment and are never logged.
 */
export class WebhookChannel implements NotificationChannel {
  readonly name = 'webhook';
  private readonly origin: string;

  constructor(
    private readonly url: string,
    private readonly headers: Record<string, string>,
    private readonly timeoutMs: number,
  ) {
    this.origin = new URL(url).origin;
  }

  async send(notice: Notice, signal?: AbortSignal): Promise<void> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { ...this.headers, 'content-type': 'application/json' },
        body: JSON.stringify(webhookPayload(notice)),
        // A redirect could carry the secret path elsewhere.
        redirect: 'error',
        signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
      });
    } catch (err) {
      if (timeout.aborted) throw new Error(`webhook ${this.origin} gave no answer in ${this.timeoutMs / 1000} s`);
      // fetch's own messages may quote the URL or a header value, secrets both: only a network error's code is given.
      const cause = (err as { cause?: unknown }).cause;
      if (!cause) throw new Error(`webhook ${this.origin} could not be sent to: an invalid URL or header value`);
      const code = (cause as { code?: unknown }).code;
      throw new Error(`webhook ${this.origin} could not be reached${typeof code === 'string' ? `: ${code}` : ''}`);
    }
    // The body is not needed, but left unread it would hold the connection.
    await response.body?.cancel();
    if (!response.ok) throw new Error(`webhook ${this.origin} answered ${response.status} ${response.statusText}`.trimEnd());
  }
}
