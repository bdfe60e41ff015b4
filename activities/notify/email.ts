import { createTransport } from 'nodemailer';
import type { NotificationsConfig } from '../../common/config';
import { type Notice, type NotificationChannel, noticeText } from './notice';

type EmailConfig = NonNullable<NotificationsConfig['email']>;

/**
 * Sends notices by SMTP (nodemailer), one connection per message: a few messages a day need no pool. The password is
 * given to nodemailer and nowhere else; its errors name the server and the SMTP reply, never the credentials.
 */
export class EmailChannel implements NotificationChannel {
  readonly name = 'email';
  private readonly transport: ReturnType<typeof createTransport>;

  constructor(
    private readonly config: EmailConfig,
    password: string | undefined,
  ) {
    const timeoutMs = config.timeoutSeconds * 1000;
    this.transport = createTransport({
      host: config.host,
      port: config.port ?? (config.security === 'tls' ? 465 : 587),
      secure: config.security === 'tls',
      requireTLS: config.security === 'starttls',
      ignoreTLS: config.security === 'none',
      auth: config.user ? { user: config.user, pass: password } : undefined,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      logger: false,
      debug: false,
    });
  }

  async send(notice: Notice): Promise<void> {
    try {
      await this.transport.sendMail({ from: this.config.from, to: this.config.to, subject: notice.subject, text: noticeText(notice) });
    } catch (err) {
      throw new Error(`email through ${this.config.host} failed: ${(err as Error).message}`);
    }
  }
}
