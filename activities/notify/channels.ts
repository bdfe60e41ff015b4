import { ConfigError, type NotificationEvent, type NotificationsConfig, hasUserinfo, secretFromEnv } from '../../common/config';
import { EmailChannel } from './email';
import type { NotificationChannel } from './notice';
import { WebhookChannel } from './webhook';

/** The configured channels and the events to send; secrets read from the environment at start, so a missing one stops it. */
export interface Notifications {
  channels: NotificationChannel[];
  events: ReadonlySet<NotificationEvent>;
  /** A run's page in the Temporal Web UI, by its workflow id. */
  runLink(workflowId: string): string;
}

export function createNotifications(
  config: NotificationsConfig,
  runLink: (workflowId: string) => string,
  env: NodeJS.ProcessEnv = process.env,
): Notifications {
  const channels: NotificationChannel[] = [];
  const { webhook, email } = config;
  if (webhook) {
    const url = webhook.url ?? secretFromEnv(webhook.urlEnv!, env);
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      throw new ConfigError(`environment variable ${webhook.urlEnv} does not hold an http or https URL (notifications.webhook.urlEnv)`);
    }
    if (hasUserinfo(url)) {
      throw new ConfigError(`environment variable ${webhook.urlEnv} holds a user or password in its URL: give it as a header (headersEnv)`);
    }
    const headers = Object.fromEntries(
      Object.entries(webhook.headersEnv).map(([name, variable]) => {
        const value = secretFromEnv(variable, env);
        if (/[\0\r\n]/.test(value)) throw new ConfigError(`environment variable ${variable} holds a line break: no HTTP header value`);
        return [name, value];
      }),
    );
    channels.push(new WebhookChannel(url, headers, webhook.timeoutSeconds * 1000));
  }
  if (email) channels.push(new EmailChannel(email, email.passwordEnv && secretFromEnv(email.passwordEnv, env)));
  return { channels, events: new Set(config.events), runLink };
}
