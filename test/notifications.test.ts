import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { unnotifiedTurns } from '../activities/catalog/destinationHealth';
import { createNotifications } from '../activities/notify/channels';
import { filesFailedNotice } from '../activities/notify/messages';
import { noticeText } from '../activities/notify/notice';
import { reportRunOutcome } from '../activities/notify/reportRunOutcome';
import { WebhookChannel, webhookPayload } from '../activities/notify/webhook';
import { type Config, ConfigError, parseConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { TASK_QUEUES, catalogTaskQueue } from '../common/taskQueues';
import { fullSync, nightlyDump } from '../workflows';
import { bytesContent } from './drive-emulator/content';
import { openTestCatalog } from './support/catalog';
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
  assert.throws(
    bad({ webhook: { url: 'https://bot:S3CRET@hooks.example.com/hook' } }),
    (err: Error) => /notifications\.webhook\.url: /.test(err.message) && !err.message.includes('S3CRET'),
  );
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
  assert.throws(
    () => createNotifications(fromEnv, () => '', { HOOK_URL: 'https://bot:S3CRET@hooks.example.com/hook' }),
    (err: Error) => err instanceof ConfigError && /HOOK_URL holds a user or password/.test(err.message) && !err.message.includes('S3CRET'),
  );
});

test('a webhook request that cannot be made fails naming the host only, never the URL nor a header value', async () => {
  const notice = { id: 'r/failed', event: 'failure' as const, subject: 's', body: ['b'] };
  const failure = async (url: string, headers: Record<string, string>) => {
    const err = await new WebhookChannel(url, headers, 5000).send(notice).then(
      () => assert.fail('the request was sent'),
      (e: Error) => e,
    );
    return err.message;
  };
  // A port nothing listens on.
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await new Promise((closed) => server.close(closed));
  const host = new RegExp(`^webhook ${origin.replace(/\./g, '\\.')} `);
  const withUser = await failure(origin.replace('//', '//bot:S3CRET@'), {});
  assert.doesNotMatch(withUser, /S3CRET|bot/);
  assert.match(withUser, host);
  const badHeader = await failure(origin, { Authorization: 'Bearer S3CRET\nX-Injected: 1' });
  assert.doesNotMatch(badHeader, /S3CRET|Injected/);
  assert.match(badHeader, host);
  assert.match(await failure(origin, {}), new RegExp(`${host.source}could not be reached: ECONNREFUSED$`));
});

test('a Drive file name reaches a webhook message as text: no link, no mention, no markup', () => {
  const name = '[Re-authorize](https://evil.example) @channel *now* `x`';
  const run = { runId: 'r', workflowId: 'w', kind: 'full-sync', account: 'me@example.com', webUiLink: 'http://127.0.0.1:8233/w' };
  const notice = filesFailedNotice(run, {
    files: 1,
    listed: [{ fileId: 'f1', name, reason: 'fileNotDownloadable', message: 'see [here](https://evil.example) @here', destinations: [] }],
  });
  const payload = webhookPayload(notice);
  const section = (payload.blocks as Array<{ text?: { text: string } }>)[1].text!.text;
  for (const text of [payload.text, section]) {
    // Every Drive-derived piece stands in a code span, which Markdown and mrkdwn show as it is, mentions included.
    const outsideCode = text.replace(/`[^`\n]*`/g, '');
    assert.doesNotMatch(outsideCode, /evil|@channel|@here|\*now\*/, text);
    assert.match(text, /`\[Re-authorize\]\(https:\/\/evil\.example\) @channel \*now\* ˋxˋ`/);
  }
  assert.match(noticeText(notice), /\[Re-authorize\]\(https:\/\/evil\.example\) @channel/, 'the email names the file as it is');
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
    /failed for good: `Drive returned an unexpected file list: files: .* \(in listDriveIntoCatalog › activity listDrivePage\)`\n/,
  );
  assert.match(texts[0], /Run sync-that-fails, workflow sync-that-fails\./);
  assert.equal(hooks[0].json?.blocks?.[0]?.text?.text, 'drive-vault: full sync failed (me@example.com)');
  assert.equal(mails.length, 1);
  assert.equal(mails[0].subject, 'drive-vault: full sync failed (me@example.com)');
  assert.deepEqual([mails[0].from, mails[0].to], ['vault@example.com', ['ops@example.com']]);
  assert.match(
    mails[0].text,
    /failed for good: `Drive returned an unexpected file list: files: .* \(in listDriveIntoCatalog › activity listDrivePage\)`\n/,
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
      const line = `\\n• ${d} is degraded since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC: \`2 file\\(s\\) could not be written(${why})?\`\\n`;
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
    assert.match(
      stillDown.texts[0],
      new RegExp(`• \`broken\\.bin\` \\(${broken.id}\\): fileNotDownloadable: \`Drive 403 fileNotDownloadable: `),
    );
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
  assert.match(text, /\nFailed files \(1\), latest first:\n• `broken\.bin` \(.+\): fileNotDownloadable: `Drive 403 /);
  assert.match(
    text,
    /\nLast runs:\n• full sync: failed, ended .* \(sync-minio-back\)\n• nightly dump: completed, ended .* \(dump-with-summary\)/,
  );
  assert.deepEqual(
    mails.map((m) => m.subject),
    [text.split('\n')[0]],
  );
  assert.ok(mails[0].text.includes('• `broken.bin` ('), 'the email carries the same lines');
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

test('a cancellation arriving while the outcome is told cancels the run: it does not complete', async () => {
  let answer = () => {};
  webhook.answer = new Promise<void>((resolve) => {
    answer = resolve;
  });
  try {
    const before = webhook.requests.length;
    const handle = await worker.client.workflow.start(nightlyDump, {
      taskQueue: TASK_QUEUES.workflows,
      workflowId: 'dump-cancelled-while-telling',
      args: [{ catalogTaskQueue: catalogTaskQueue(config.catalog.hostId) }],
    });
    // The daily summary has reached the webhook, which holds its answer: the report is running.
    while (webhook.requests.length === before) await new Promise((r) => setTimeout(r, 200));
    await handle.cancel();
    const err = await handle.result().then(
      (result) => assert.fail(`the dump ended ${JSON.stringify(result)}`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, String(err));
  } finally {
    answer();
    webhook.answer = undefined;
  }
});

test('a bug in a run (an error that is no Temporal failure) retries its workflow task: nothing told, the run not closed', async () => {
  const db = worker.wired.catalog.db;
  await stack.emulator!.store.addFile({ name: 'after-the-bug.txt', content: bytesContent('pending') });
  const got = mark();
  // A duration the SDK cannot read throws a TypeError in the workflow when it schedules the transfer.
  const handle = await worker.client.workflow.start(fullSync, {
    taskQueue: TASK_QUEUES.workflows,
    workflowId: 'sync-with-a-bug',
    args: [
      {
        includeSharedDrives: false,
        catalogTaskQueue: catalogTaskQueue(config.catalog.hostId),
        batchesInFlight: 1,
        transferHeartbeatTimeout: 'soon' as never,
      },
    ],
  });
  try {
    const history = async () => (await handle.fetchHistory()).events ?? [];
    const taskFailed = (e: Awaited<ReturnType<typeof history>>[number]) =>
      /Invalid duration string: 'soon'/.test(e.workflowTaskFailedEventAttributes?.failure?.message ?? '');
    const deadline = Date.now() + 120_000;
    // The task fails after the report, if one is scheduled: the report has run by then.
    while (!(await history()).some(taskFailed)) {
      assert.ok(Date.now() < deadline, 'the workflow task failed');
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal((await handle.describe()).status.name, 'RUNNING', 'the workflow waits for a fix');
    assert.doesNotMatch(JSON.stringify(await history()), /reportRunOutcome/, 'no report in the history a fixed version replays');
    // (The cancelled dump's report, let go, may still deliver its summary meanwhile.)
    const { texts, mails } = got();
    const told = [...texts, ...mails.map((m) => m.text)].filter((t) => t.includes('sync-with-a-bug'));
    assert.deepEqual(told, [], 'nothing is told');
    const run = db.prepare('SELECT status FROM runs WHERE id = ?').get('sync-with-a-bug') as { status: string };
    assert.equal(run.status, 'running');
    const held = db.prepare('SELECT run_id FROM account_hold').get() as { run_id: string } | undefined;
    assert.equal(held?.run_id, 'sync-with-a-bug', 'the run still holds the account');
  } finally {
    await handle.terminate('the test is over');
  }
});

test('a channel down does not make the others repeat a degraded notice: each channel gets each turn once', async () => {
  const catalog = openTestCatalog(mkdtempSync(join(tmpdir(), 'turns-')));
  const env = { HOOK_URL: `${webhook.url}/services/${HOOK_PATH_SECRET}`, HOOK_AUTHORIZATION: HOOK_TOKEN, SMTP_PASSWORD };
  const deps = {
    catalog,
    logger: createLogger({ level: 'error' }),
    notifications: createNotifications(config.notifications, (id) => `http://127.0.0.1:8233/${id}`, env),
    account: 'me@example.com',
    destinations: ['aws', 'nas'],
  };
  const report = (runId: string) =>
    reportRunOutcome(deps, {
      runId,
      workflowId: runId,
      kind: 'nightly-dump',
      destinations: { aws: { status: 'failed', message: 'aws is down' }, nas: { status: 'verified', uploaded: [] } },
    });
  const degraded = (texts: string[]) => texts.filter((t) => /^drive-vault: destination aws degraded/.test(t));
  try {
    smtp.refuseLogins = true;
    let got = mark();
    await assert.rejects(report('dump-1'), /notices not delivered: .*email through/);
    assert.equal(degraded(got().texts).length, 1);
    got = mark();
    await assert.rejects(report('dump-2'), /notices not delivered: .*email through/);
    assert.deepEqual(degraded(got().texts), [], 'the webhook had it already');
    smtp.refuseLogins = false;
    got = mark();
    await report('dump-3');
    const { texts, mails } = got();
    assert.deepEqual(degraded(texts), []);
    assert.deepEqual(
      mails.map((m) => m.subject),
      ['drive-vault: destination aws degraded (me@example.com)'],
      'the email, down before, gets it now',
    );
    assert.deepEqual(unnotifiedTurns(catalog), [], 'told everywhere');
  } finally {
    smtp.refuseLogins = false;
    catalog.close();
  }
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
