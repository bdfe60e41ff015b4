import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, type Page, chromium } from 'playwright-core';
import { type RunningApi, startApiServer } from '../api/server';
import { Catalog } from '../activities/catalog/catalog';
import type { Config } from '../common/config';
import { LogFeed } from '../common/logFeed';
import { createLogger } from '../common/logger';
import { reconcileSchedules } from '../worker/schedules';
import { generatedContent } from './drive-emulator/content';
import { seedFromDirectory } from './drive-emulator/seed';
import { listedBinaryFile } from './support/catalog';
import { twoAccounts } from './support/accounts';
import { type Stack, startStack } from './support/stack';
import { type RunningWorker, stackConfig, startTestWorker, testLogger } from './support/worker';

/*
 * Issue 13, section 2: the dashboard in real headless Chromium (Debian's, driven by playwright-core). It loads the
 * page, signs in with the API token, clicks "Run now" on the full-sync schedule and sees the run appear with its
 * progress, then finish in the recent runs with a link into the Temporal Web UI. The screenshot is kept in
 * test-artifacts/dashboard.png.
 */

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'dashboard-test-token-5e6f7a8b9c0d';
const ARTIFACTS = join(__dirname, '..', 'test-artifacts');
const MiB = 1024 * 1024;
/** The namespaces of the two accounts of the config that lists several. */
const NAMESPACES = { ana: 'dashboard-ana', bo: 'dashboard-bo' };

let stack: Stack;
let config: Config;
let worker: RunningWorker;
let api: RunningApi;
let browser: Browser;
let page: Page;
let profile: string;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: npm test installs it (scripts/install-chromium.sh)`);
  stack = await startStack({ temporal: { namespaces: Object.values(NAMESPACES) }, emulator: true });
  const store = stack.emulator!.store;
  await seedFromDirectory(store, join(__dirname, 'drive-emulator', 'sample-drive'));
  const footage = await store.addFile({ name: 'Footage', mimeType: 'application/vnd.google-apps.folder' });
  await store.addFile({ name: 'take-1.mov', parentId: footage.id, content: generatedContent(8 * MiB, 41) });
  // Drive serves the video slowly, so the run is still going when the dashboard next polls and shows its progress.
  stack.emulator!.faults.add({ match: 'alt=media', bytesPerSecond: MiB });
  config = stackConfig(stack, { api: { listen: '127.0.0.1:0', rateLimitPerMinute: 0 } });
  worker = await startTestWorker(stack, config);
  await reconcileSchedules(worker.client, config, testLogger);
  const logFeed = new LogFeed();
  api = await startApiServer(config, {
    client: worker.client,
    catalog: worker.wired.catalog,
    logFeed,
    logger: createLogger({ level: 'info', feed: logFeed }),
    env: { DRIVE_VAULT_API_TOKEN: TOKEN },
  });
  profile = mkdtempSync(join(tmpdir(), 'drive-vault-chromium-'));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // This machine has no internet: Chromium's own background connections would only fail.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
});

after(async () => {
  await browser?.close();
  await api?.close();
  await worker?.stop();
  await stack?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('the dashboard signs in, runs the full-sync schedule now, and shows the run with its progress, then in the recent runs', {
  timeout: 300_000,
}, async () => {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  const external: string[] = [];
  page.on('request', (req) => {
    if (!req.url().startsWith(api.url)) external.push(req.url());
  });

  await page.goto(`${api.url}/`);
  await page.locator('#token').fill(TOKEN);
  await page.locator('#login button[type=submit]').click();
  const trigger = page.locator('tr[data-schedule="full-sync"] button[data-action="trigger"]');
  await trigger.waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('#schedules tbody tr[data-schedule]').count(), 4, 'the four schedules are listed');

  await trigger.click();
  // The run appears among the running ones with a progress bar, and a link into the Temporal Web UI.
  const running = page.locator('#running tbody tr[data-workflow-id]').filter({ hasText: 'full-sync' });
  await running.first().waitFor({ timeout: 60_000 });
  const workflowId = await running.first().getAttribute('data-workflow-id');
  assert.ok(workflowId, 'the running row names its workflow');
  const link = await running.first().locator('a').getAttribute('href');
  assert.ok(link?.startsWith(config.temporal.webUiUrl) && link.includes(encodeURIComponent(workflowId)), `a Web UI link: ${link}`);
  await page.locator(`#running tr[data-workflow-id="${workflowId}"] td.progress progress`).waitFor({ timeout: 60_000 });
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-running.png'), fullPage: true });

  // It ends in the recent runs as completed, and the chart has its day.
  const finished = page.locator(`#runs tr[data-workflow-id="${workflowId}"]`).filter({ hasText: 'completed' });
  await finished.waitFor({ timeout: 240_000 });
  await page.waitForFunction("Number(document.getElementById('bytes-chart')?.dataset.days) >= 1", undefined, { timeout: 30_000 });
  // The status the dashboard polls catches up: nothing running, the files on the destination.
  await page.locator('#running tbody').filter({ hasText: 'nothing running' }).waitFor({ timeout: 30_000 });
  await page.waitForFunction(
    "Number(document.querySelector('#storage tbody tr td:nth-child(4)')?.textContent.replace(/\\D/g, '')) > 0",
    undefined,
    {
      timeout: 30_000,
    },
  );
  assert.deepEqual(
    await page
      .locator('#storage tbody tr')
      .first()
      .locator('td')
      .allTextContents()
      .then((cells) => cells.slice(0, 3)),
    ['nas', 'local', 'ok'],
  );
  // The live log shows the API's own lines, the trigger among them.
  await page.locator('#log').filter({ hasText: 'schedule triggered' }).waitFor({ timeout: 30_000 });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

  assert.deepEqual(errors, [], 'no script error on the page');
  assert.deepEqual(external, [], 'every asset comes from the API itself: no CDN');
});

test('a wrong token brings the sign-in back with the reason; the right one then opens the dashboard and its live log', {
  timeout: 60_000,
}, async () => {
  const fresh = await browser.newPage();
  await fresh.goto(`${api.url}/`);
  await fresh.locator('#token').fill('not-the-token-at-all-0000');
  await fresh.locator('#login button[type=submit]').click();
  await fresh.locator('#login-error').filter({ hasText: 'refused' }).waitFor({ timeout: 30_000 });
  assert.equal(await fresh.locator('#dashboard').isHidden(), true);
  // Then the right token: the dashboard opens, and its live log, refused a moment ago, follows now.
  await fresh.locator('#token').fill(TOKEN);
  await fresh.locator('#login button[type=submit]').click();
  await fresh.locator('#log').filter({ hasText: 'api.started' }).waitFor({ timeout: 30_000 });
  await fresh.close();
});

test('with several accounts, a selector switches the account the dashboard shows; with one there is none', {
  timeout: 120_000,
}, async () => {
  const accounts = twoAccounts(config, NAMESPACES);
  for (const [i, count] of [1, 2].entries()) {
    const catalog = Catalog.open(accounts[i]!.catalog.path);
    catalog.recordListedFiles(
      Array.from({ length: count }, (_, n) => listedBinaryFile(`${accounts[i]!.temporal.namespace}-${n}`)),
      'l1',
    );
    catalog.close();
  }
  const logFeed = new LogFeed();
  const logger = createLogger({ level: 'warn', feed: logFeed });
  const multi = await startApiServer(accounts, { logFeed, logger, env: { DRIVE_VAULT_API_TOKEN: TOKEN } });
  const tab = await browser.newPage();
  const errors: string[] = [];
  tab.on('pageerror', (err) => errors.push(err.message));
  const asked: string[] = [];
  tab.on('request', (req) => asked.push(new URL(req.url()).pathname));
  try {
    await tab.goto(`${multi.url}/`);
    await tab.locator('#token').fill(TOKEN);
    await tab.locator('#login button[type=submit]').click();
    const select = tab.locator('#account-select');
    await select.waitFor({ state: 'visible', timeout: 30_000 });
    assert.deepEqual(await select.locator('option').allTextContents(), ['ana@example.org', 'bo']);
    await tab.locator('#account').filter({ hasText: 'account ana@example.org' }).waitFor({ timeout: 30_000 });
    await tab.locator('#overview').filter({ hasText: '1 in the catalog' }).waitFor({ timeout: 30_000 });

    await select.selectOption('bo');
    await tab.locator('#account').filter({ hasText: 'account bo' }).waitFor({ timeout: 30_000 });
    await tab.locator('#overview').filter({ hasText: '2 in the catalog' }).waitFor({ timeout: 30_000 });
    // A redraw of the other account, in flight at the switch, does not come back.
    await tab.waitForTimeout(4000);
    assert.equal(await tab.locator('#account').textContent(), 'account bo');
    // Found by a cold review: the live log stayed the first account's after a switch.
    logger.child({ account: 'ana@example.org' }).warn({ event: 'test.ana_line' }, "ana's");
    logger.child({ account: 'bo' }).warn({ event: 'test.bo_line' }, "bo's");
    await tab.locator('#log').filter({ hasText: 'test.bo_line' }).waitFor({ timeout: 30_000 });
    assert.doesNotMatch((await tab.locator('#log').textContent()) ?? '', /test\.ana_line/, "bo's log has no line of ana's");
    await tab.screenshot({ path: join(ARTIFACTS, 'dashboard-accounts.png'), fullPage: true });

    for (const prefix of ['/api/accounts/ana%40example.org/', '/api/accounts/bo/']) {
      assert.ok(asked.includes(`${prefix}status`), `${prefix}status was asked`);
    }
    const unprefixed = asked.filter((p) => p.startsWith('/api/') && !p.startsWith('/api/accounts') && p !== '/api/version');
    assert.deepEqual(unprefixed, [], 'every account request goes to its prefix');
    assert.deepEqual(errors, [], 'no script error on the page');

    // With one account the page is as it was: no selector, the unprefixed routes.
    const single = await browser.newPage();
    await single.goto(`${api.url}/`);
    await single.locator('#token').fill(TOKEN);
    await single.locator('#login button[type=submit]').click();
    await single
      .locator('#account')
      .filter({ hasText: `account ${config.account}` })
      .waitFor({ timeout: 30_000 });
    assert.equal(await single.locator('#account-select').isHidden(), true);
    await single.close();
  } finally {
    await tab.close();
    await multi.close();
  }
});
