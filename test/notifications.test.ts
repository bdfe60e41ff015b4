import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { createNotifications } from '../activities/notify/channels';
import { webhookPayload } from '../activities/notify/webhook';
import { type Config, ConfigError, parseConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { TASK_QUEUES, catalogTaskQueue } from '../common/taskQueues';
import { fullSync, nightlyDump } from '../workflows';
import { bytesContent } from './drive-emulator/content';
import { startSmtpReceiver, startWebhookReceiver } from './support/notificationReceivers';
import { type Stack, startStack } from './support/stack';
import { type RunningWorker, stackConfig, stackEnv, startTestWorker } from './support/worker';

// Issue 13, section 5: a webhook message and an email on a final failure, on a destination turning degraded (once),
// and as the daily summary at the end of the nightly dump; a receiver that fails never fails a run.

const SMTP_USER = 'vault';
const SMTP_PASSWORD = 'smtp-pw-Xq7!e9Lk2';
const HOOK_PATH_SECRET = 'T0000/B0000/hook-path-secret-4f1c';
const HOOK_TOKEN = 'Bearer hook-token-8d2a';

const minimal = { account: 'me', google: { clientId: 'cid' }, destinations: [{ kind: 'local', name: 'nas', path: '/tmp/x' }] };

let stack: Stack;
let worker: RunningWorker;
let config: Config;
let webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;
let smtp: Awaited<ReturnType<typeof startSmtpReceiver>>;
const lines: string[] = [];

before(async () => {
  [stack, webhook, smtp] = await Promise.all([
    startStack({ temporal: true, minio: true, emulator: true }),
    startWebhookReceiver(),
    startSmtpReceiver({ user: SMTP_USER, password: SMTP_PASSWORD }),
  ]);
  config = stackConfig(stack, {
    notifications: {
      webhook: { urlEnv: 'HOOK_URL', headersEnv: { Authorization: 'HOOK_AUTHORIZATION' }, timeoutSeconds: 5 },
      email: {
        host: '127.0.0.1',
        port: smtp.port,
        security: 'none',
        user: SMTP_USER,
        passwordEnv: 'SMTP_PASSWORD',
        from: 'drive-vault <vault@example.com>',
        to: ['ops@example.com'],
      },
    },
  });
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  worker = await startTestWorker(stack, config, {
    logger: createLogger({ level: 'debug' }, sink),
    env: { ...stackEnv(stack), HOOK_URL: `${webhook.url}/services/${HOOK_PATH_SECRET}`, HOOK_AUTHORIZATION: HOOK_TOKEN, SMTP_PASSWORD },
  });
});

after(async () => {
  await worker?.stop();
  await Promise.allSettled([stack?.stop(), webhook?.close(), smtp?.close()]);
});

const sync = (workflowId: string) =>
  worker.client.workflow.execute(fullSync, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId,
    args: [{ includeSharedDrives: false, catalogTaskQueue: catalogTaskQueue(config.catalog.hostId) }],
  });
const dump = (workflowId: string) =>
  worker.client.workflow.execute(nightlyDump, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId,
    args: [{ catalogTaskQueue: catalogTaskQueue(config.catalog.hostId) }],
  });

/** What the receivers got since `mark()`: the webhook messages' texts and the emails. */
function mark() {
  const hooks = webhook.requests.length;
  const mails = smtp.mails.length;
  return () => ({
    hooks: webhook.requests.slice(hooks),
    texts: webhook.requests.slice(hooks).map((r) => r.json?.text ?? ''),
    mails: smtp.mails.slice(mails),
  });
}
const logEvents = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

test('the notifications section: every event by default, exactly one of url and urlEnv, no password in clear off this host', () => {
  assert.deepEqual(parseConfig(minimal).notifications, { events: ['failure', 'degraded', 'daily-summary'] });
  const bad = (notifications: unknown) => () => parseConfig({ ...minimal, notifications });
  assert.throws(bad({ webhook: {} }), /notifications\.webhook: give exactly one of url and urlEnv/);
  assert.throws(bad({ webhook: { url: 'ftp://example.com/hook' } }), /notifications\.webhook\.url: /);
  assert.throws(bad({ events: ['failure', 'weekly'] }), /notifications\.events\.1: /);
  const email = { host: 'smtp.example.com', from: 'vault@example.com', to: ['ops@example.com'] };
  assert.throws(bad({ email: { ...email, user: 'u' } }), /notifications\.email: give user and passwordEnv together, or neither/);
  assert.throws(bad({ email: { ...email, to: [] } }), /notifications\.email\.to: /);
  assert.throws(
    bad({ email: { ...email, security: 'none', user: 'u', passwordEnv: 'P' } }),
    /notifications\.email: security none would send the password in clear/,
  );
  const local = parseConfig({
    ...minimal,
    notifications: { email: { ...email, host: 'localhost', security: 'none', user: 'u', passwordEnv: 'P' } },
  });
  assert.equal(local.notifications.email?.security, 'none', 'a relay on this host may take a password without TLS');
  assert.equal(parseConfig({ ...minimal, notifications: { email } }).notifications.email?.security, 'starttls');
});

test('a secret the config names but the environment lacks stops the start, naming the variable', () => {
  const notifications = parseConfig({
    ...minimal,
    notifications: { webhook: { url: 'https://hooks.example.com/x', headersEnv: { Authorization: 'HOOK_AUTH' } } },
  }).notifications;
  assert.throws(
    () => createNotifications(notifications, () => '', {}),
    (err: Error) => err instanceof ConfigError && /HOOK_AUTH/.test(err.message),
  );
  const fromEnv = parseConfig({ ...minimal, notifications: { webhook: { urlEnv: 'HOOK_URL' } } }).notifications;
  assert.throws(
    () => createNotifications(fromEnv, () => '', { HOOK_URL: 'not a url' }),
    (err: Error) =>
      err instanceof ConfigError && /HOOK_URL does not hold an http or https URL/.test(err.message) && !/not a url/.test(err.message),
  );
});

test("a webhook message is Slack-compatible: text for any receiver, blocks within Slack's limits, names kept as text", () => {
  const payload = webhookPayload({
    id: 'r/failed',
    event: 'failure',
    subject: `drive-vault: ${'x'.repeat(200)}`,
    body: ['• <b>&co.pdf</b>: failed', 'y'.repeat(4000)],
    link: { label: 'run r', url: 'http://127.0.0.1:8233/namespaces/default/workflows/r' },
  });
  assert.match(payload.text, /^drive-vault: x+\n\n• &lt;b&gt;&amp;co\.pdf&lt;\/b&gt;: failed\n/);
  const [header, section, context] = payload.blocks as Array<{ type: string; text?: { text: string }; elements?: Array<{ text: string }> }>;
  assert.equal(header.type, 'header');
  assert.equal(header.text!.text.length, 150);
  assert.equal(section.type, 'section');
  assert.equal(section.text!.text.length, 3000);
  assert.match(section.text!.text, /^• &lt;b&gt;&amp;co\.pdf&lt;\/b&gt;: failed\n/);
  assert.deepEqual(context.elements, [{ type: 'mrkdwn', text: '<http://127.0.0.1:8233/namespaces/default/workflows/r|run r>' }]);
});

test('a full sync that fails for good sends a webhook message and an email naming the run and why, and closes the run', async () => {
  const got = mark();
  // A listing page of the wrong shape is not retried: the listing fails, and the full sync with it.
  stack.emulator!.faults.add({
    match: '^GET /drive/v3/files\\?',
    times: 1,
    status: 200,
    replaceBody: JSON.stringify({ files: 'not a list' }),
  });
  await assert.rejects(sync('sync-that-fails'));
  const { hooks, texts, mails } = got();
  assert.equal(hooks.length, 1, texts.join('\n---\n'));
  assert.equal(hooks[0].path, `/services/${HOOK_PATH_SECRET}`);
  assert.equal(hooks[0].headers.authorization, HOOK_TOKEN);
  assert.equal(hooks[0].headers['content-type'], 'application/json');
  assert.match(texts[0], /^drive-vault: full sync failed \(me@example\.com\)\n/);
  assert.match(
    texts[0],
    /failed for good: Drive returned an unexpected file list: files: .* \(in listDriveIntoCatalog › activity listDrivePage\)/,
  );
  assert.match(texts[0], /Run sync-that-fails, workflow sync-that-fails\./);
  assert.equal(hooks[0].json?.blocks?.[0]?.text?.text, 'drive-vault: full sync failed (me@example.com)');
  assert.equal(mails.length, 1);
  assert.equal(mails[0].subject, 'drive-vault: full sync failed (me@example.com)');
  assert.deepEqual([mails[0].from, mails[0].to], ['vault@example.com', ['ops@example.com']]);
  assert.match(
    mails[0].text,
    /failed for good: Drive returned an unexpected file list: files: .* \(in listDriveIntoCatalog › activity listDrivePage\)/,
  );
  assert.match(mails[0].text, /Run sync-that-fails, workflow sync-that-fails\./);
  assert.match(mails[0].text, /http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/sync-that-fails/);

  const db = worker.wired.catalog.db;
  const run = db.prepare('SELECT status, ended_at, summary FROM runs WHERE id = ?').get('sync-that-fails') as {
    status: string;
    ended_at: string | null;
    summary: string;
  };
  assert.equal(run.status, 'failed');
  assert.ok(run.ended_at);
  assert.match(JSON.parse(run.summary).failed, /Drive returned an unexpected file list/);
  const held = db.prepare('SELECT count(*) AS n FROM account_hold').get() as { n: number };
  assert.equal(held.n, 0, 'the failed run no longer holds the account');
});

test('a destination going down is told once over two runs, and once when it is back; a file failing on Drive is told once', async () => {
  const store = stack.emulator!.store;
  for (let i = 0; i < 3; i++) await store.addFile({ name: `doc-${i}.txt`, content: bytesContent(`document ${i}`) });
  let got = mark();
  assert.deepEqual((await sync('sync-all-up')).degraded, []);
  assert.deepEqual(got().texts, [], 'nothing to tell when every destination is healthy');

  await stack.minio!.stop();
  try {
    got = mark();
    for (let i = 3; i < 5; i++) await store.addFile({ name: `doc-${i}.txt`, content: bytesContent(`document ${i}`) });
    assert.deepEqual((await sync('sync-minio-down')).degraded, ['aws', 'eu']);
    const down = got();
    assert.equal(down.texts.length, 1, down.texts.join('\n---\n'));
    assert.match(down.texts[0], /^drive-vault: destination aws, eu degraded \(me@example\.com\)\n/);
    // A file's failure holds the first destination's error for each it missed: a destination's line gives only its own.
    const why = ': uploading vault/drive/me@example\\.com/My Drive/doc-\\d\\.txt failed: .*ECONNREFUSED.*';
    for (const d of ['aws', 'eu']) {
      const line = `\\n• ${d} is degraded since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC: 2 file\\(s\\) could not be written(${why})?\\n`;
      assert.match(down.texts[0], new RegExp(line));
    }
    assert.match(down.texts[0], new RegExp(why), 'the error is given');
    assert.doesNotMatch(down.texts[0], /nas/, 'the destination that took the files is not named');
    assert.deepEqual(
      down.mails.map((m) => m.subject),
      ['drive-vault: destination aws, eu degraded (me@example.com)'],
    );

    got = mark();
    const broken = await store.addFile({ name: 'broken.bin', content: bytesContent('cannot be read') });
    stack.emulator!.faults.add({ match: `GET /drive/v3/files/${broken.id}\\?.*alt=media`, reason: 'fileNotDownloadable' });
    assert.deepEqual((await sync('sync-minio-still-down')).degraded, ['aws', 'eu', 'nas']);
    const stillDown = got();
    assert.equal(stillDown.texts.length, 1, stillDown.texts.join('\n---\n'));
    assert.match(stillDown.texts[0], /^drive-vault: 1 file failed in the full sync \(me@example\.com\)\n/);
    assert.match(stillDown.texts[0], new RegExp(`• broken\\.bin \\(${broken.id}\\): fileNotDownloadable: Drive 403 fileNotDownloadable: `));
    assert.doesNotMatch(stillDown.texts.join('\n'), /degraded/, 'still down: no second degraded message');
    assert.deepEqual(
      stillDown.mails.map((m) => m.subject),
      ['drive-vault: 1 file failed in the full sync (me@example.com)'],
    );
  } finally {
    await stack.restartMinio();
  }

  got = mark();
  const back = await sync('sync-minio-back');
  assert.deepEqual(back.verifiedWritten, { aws: 2, eu: 2 }, 'the files they missed');
  const healed = got();
  assert.equal(healed.texts.length, 1, healed.texts.join('\n---\n'));
  assert.match(healed.texts[0], /^drive-vault: destination aws, eu healthy again \(me@example\.com\)\n/);
  assert.doesNotMatch(healed.texts[0], /broken\.bin/, 'a file that goes on failing is not told again');
  assert.equal(healed.mails.length, 1);
  const health = worker.wired.catalog.db
    .prepare('SELECT destination, state, notified_state FROM destination_health ORDER BY destination')
    .all();
  assert.deepEqual(health, [
    { destination: 'aws', state: 'healthy', notified_state: 'healthy' },
    { destination: 'eu', state: 'healthy', notified_state: 'healthy' },
    { destination: 'nas', state: 'healthy', notified_state: 'healthy' },
  ]);
  const degradedMessages = webhook.requests.filter((r) => /^drive-vault: destination .*degraded/.test(r.json?.text ?? ''));
  assert.equal(degradedMessages.length, 1, 'one degraded message in all');
});

test('the nightly dump ends with the daily summary: files, bytes, failures, destinations and the last runs', async () => {
  const got = mark();
  const result = await dump('dump-with-summary');
  assert.equal(result.status, 'verified');
  const { texts, mails } = got();
  assert.equal(texts.length, 1, texts.join('\n---\n'));
  const db = worker.wired.catalog.db;
  const synced = db.prepare(`SELECT count(*) AS n, sum(size) AS bytes FROM files WHERE state = 'synced'`).get() as {
    n: number;
    bytes: number;
  };
  assert.equal(synced.n, 5);
  const text = texts[0];
  assert.match(text, new RegExp(`^drive-vault daily summary ${result.day} \\(me@example\\.com\\): 1 failed file, \\d+ failed runs\\n`));
  assert.match(text, new RegExp(`\\nFiles: 5 files backed up \\(${synced.bytes} B\\), 0 pending, 1 failed, 0 deferred, 0 skipped\\.\\n`));
  assert.match(text, /\nLast 24 hours: \d+ runs \(\d+ completed, \d+ failed, 0 running\); \d+ files and [\d.]+ (B|KiB) transferred\.\n/);
  for (const d of ['aws', 'eu', 'nas']) assert.match(text, new RegExp(`\\n• ${d}: healthy since [^,]+, \\d+ objects, `));
  assert.match(text, /\nFailed files \(1\), latest first:\n• broken\.bin \(.+\): fileNotDownloadable: /);
  assert.match(
    text,
    /\nLast runs:\n• full sync: failed, ended .* \(sync-minio-back\)\n• nightly dump: completed, ended .* \(dump-with-summary\)/,
  );
  assert.deepEqual(
    mails.map((m) => m.subject),
    [text.split('\n')[0]],
  );
  assert.ok(mails[0].text.includes('• broken.bin ('), 'the email carries the same lines');
});

test('a webhook answering 500 does not fail the run: it is retried and logged, and the email goes out once', async () => {
  const got = mark();
  const logged = lines.length;
  webhook.status = 500;
  try {
    assert.equal((await dump('dump-webhook-500')).status, 'verified');
  } finally {
    webhook.status = 200;
  }
  const { hooks, mails } = got();
  // The activity's four tries each posted the summary; the email was delivered by the first and never sent again.
  assert.equal(hooks.length, 4);
  assert.equal(mails.length, 1);
  assert.match(mails[0].subject, /^drive-vault daily summary /);
  const failed = logEvents()
    .slice(logged)
    .filter((e) => e.event === 'notification.failed');
  assert.equal(failed.length, 4);
  for (const e of failed) {
    assert.equal(e.channel, 'webhook');
    assert.match(String(e.err), /^webhook http:\/\/127\.0\.0\.1:\d+ answered 500 Internal Server Error$/);
  }
});

test('an SMTP server refusing the login does not fail the run; the webhook message goes out once', async () => {
  const got = mark();
  const logged = lines.length;
  const logins = smtp.logins;
  smtp.refuseLogins = true;
  try {
    assert.equal((await dump('dump-smtp-refused')).status, 'verified');
  } finally {
    smtp.refuseLogins = false;
  }
  const { texts, mails } = got();
  assert.equal(texts.length, 1);
  assert.match(texts[0], /^drive-vault daily summary /);
  assert.equal(mails.length, 0);
  assert.equal(smtp.logins - logins, 4, 'one login per try');
  const failed = logEvents()
    .slice(logged)
    .filter((e) => e.event === 'notification.failed');
  assert.equal(failed.length, 4);
  for (const e of failed) assert.match(String(e.err), /^email through 127\.0\.0\.1 failed: Invalid login: 535 /);
});

test('the SMTP password and the webhook secrets never appear in the logs', () => {
  const all = lines.join('\n');
  assert.ok(
    logEvents().some((e) => e.event === 'notification.sent'),
    'notifications were logged',
  );
  const secrets = {
    password: SMTP_PASSWORD,
    'AUTH PLAIN token': Buffer.from(`\0${SMTP_USER}\0${SMTP_PASSWORD}`).toString('base64'),
    'AUTH LOGIN password': Buffer.from(SMTP_PASSWORD).toString('base64'),
    'webhook URL path': HOOK_PATH_SECRET,
    'webhook header': HOOK_TOKEN,
  };
  for (const [what, secret] of Object.entries(secrets)) assert.ok(!all.includes(secret), `the ${what} is not logged`);
  // nodemailer's auth object, were it ever logged, is redacted too.
  const logged: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logged.push(chunk.toString());
      done();
    },
  });
  createLogger({ level: 'info' }, sink).warn({ auth: { user: SMTP_USER, pass: SMTP_PASSWORD } }, 'smtp');
  assert.equal(JSON.parse(logged[0]).auth.pass, '[redacted]');
});
