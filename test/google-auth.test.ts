import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { serve } from '@hono/node-server';
import { OpenAPIHono } from '@hono/zod-openapi';
import { Catalog } from '../activities/catalog/catalog';
import { storedGoogleToken } from '../activities/catalog/googleTokens';
import { googleAccountStatus } from '../activities/drive/accountStatus';
import { createDriveClient } from '../activities/drive/client';
import { createGoogleAuth } from '../activities/drive/credentials';
import { startFullSync } from '../api/fullSyncRuns';
import { runGoogleAuthFlow } from '../api/googleAuthFlow';
import { GOOGLE_AUTH_OPEN_PATHS, googleAuthRoutes } from '../api/googleAuthRoutes';
import type { Config } from '../common/config';
import { createLogger } from '../common/logger';
import { bytesContent } from './drive-emulator/content';
import { DriveEmulator } from './drive-emulator/server';
import { type Stack, startStack } from './support/stack';
import { type RunningWorker, stackConfig, startTestWorker } from './support/worker';

const oauthClient = {
  clientId: 'auth-test-client.apps.googleusercontent.com',
  clientSecret: `GOCSPX-${randomBytes(12).toString('hex')}`,
  refreshToken: `1//env-${randomBytes(16).toString('hex')}`,
};
const tokenKey = randomBytes(32).toString('base64');
const serviceAccount = {
  clientEmail: 'backup@vault-project.iam.gserviceaccount.com',
  ...generateKeyPairSync('rsa', { modulusLength: 2048 }),
};
const privateKeyPem = serviceAccount.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const DRIVE_READONLY = 'https://www.googleapis.com/auth/drive.readonly';

const logLines: string[] = [];
const logger = createLogger(
  { level: 'trace' },
  new Writable({
    write(chunk, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  }),
);

let stack: Stack;
let emulator: DriveEmulator;
let user: string;
let config: Config;
let worker: RunningWorker;
let api: { server: Server; base: string };
/** The worker's environment: the client secret and the token key, and no refresh token, so only a stored one can work. */
const env = () => ({ GOOGLE_CLIENT_SECRET: oauthClient.clientSecret, DRIVE_VAULT_TOKEN_KEY: tokenKey });

function oauthConfig(): Config {
  return stackConfig(stack, {
    google: {
      clientId: oauthClient.clientId,
      apiRootUrl: emulator.baseUrl,
      tokenUrl: `${emulator.baseUrl}token`,
      authUrl: `${emulator.baseUrl}o/oauth2/v2/auth`,
    },
  });
}

before(async () => {
  stack = await startStack({ temporal: true });
  emulator = await DriveEmulator.start({
    oauth: oauthClient,
    serviceAccounts: [
      { clientEmail: serviceAccount.clientEmail, publicKey: serviceAccount.publicKey, subjects: ['user@drive-vault.test'] },
    ],
  });
  stack.emulator = emulator;
  user = emulator.store.user.emailAddress;
  const docs = await emulator.store.addFile({ name: 'Docs' });
  for (const name of ['a.txt', 'b.txt'])
    await emulator.store.addFile({ name, parentId: docs.id, content: bytesContent(`content of ${name}`) });
  await emulator.store.addFile({ name: 'top.txt', content: bytesContent('top') });
  config = oauthConfig();
  worker = await startTestWorker(stack, config, { logger, env: env() });
  // The API as the `start` command embeds it: the worker's catalog, the routes mounted where the API mounts them.
  const app = new OpenAPIHono();
  app.route('/api/auth/google', googleAuthRoutes({ config, catalog: worker.wired.catalog, logger, env: env() }));
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
  await new Promise((resolve) => server.once('listening', resolve));
  api = { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
});

after(async () => {
  api?.server.closeAllConnections();
  api?.server.close();
  await worker?.stop();
  await stack?.stop();
});

/** What the browser does: start (from the dashboard), Google's consent page, then Google's redirect to the callback. */
async function connectThroughApi() {
  const startReply = await fetch(`${api.base}/api/auth/google/start`, { method: 'POST' });
  assert.equal(startReply.status, 200, await startReply.clone().text());
  const start = (await startReply.json()) as { authUrl: string; state: string; redirectUri: string };
  const consent = await fetch(start.authUrl, { redirect: 'manual' });
  assert.equal(consent.status, 302, await consent.clone().text());
  const callbackUrl = consent.headers.get('location')!;
  return { start, callbackUrl, callback: await fetch(callbackUrl) };
}

/** Every message down an error's cause chain (workflow, child, activity, application failure). */
function causeMessages(err: unknown): string {
  const messages: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) messages.push(e.message ?? '');
  return messages.join(' <- ');
}

const catalogFiles = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('catalog.db'));
const tokenRequests = () => emulator.requests.filter((r) => r.method === 'POST' && r.path === '/token').length;

test('connecting through the API (start, consent, callback) stores the refresh token encrypted, and a full sync works with it', async () => {
  const { start, callbackUrl, callback } = await connectThroughApi();
  const consentUrl = new URL(start.authUrl);
  assert.equal(`${consentUrl.origin}${consentUrl.pathname}`, `${emulator.baseUrl}o/oauth2/v2/auth`);
  const q = consentUrl.searchParams;
  assert.deepEqual(
    [q.get('access_type'), q.get('prompt'), q.get('scope'), q.get('code_challenge_method'), q.get('state'), q.get('client_id')],
    ['offline', 'consent', DRIVE_READONLY, 'S256', start.state, oauthClient.clientId],
  );
  assert.match(q.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/, 'a SHA-256 PKCE challenge');
  assert.equal(start.redirectUri, `${api.base}/api/auth/google/callback`);
  assert.ok(callbackUrl.startsWith(`${start.redirectUri}?`), 'Google sends the browser back to the loopback callback');
  assert.equal(callback.status, 200, await callback.clone().text());
  assert.match(await callback.text(), /Google account <b>me@example\.com<\/b> \(user@drive-vault\.test\) connected/);

  const [refreshToken] = emulator.oauth.issuedRefreshTokens;
  assert.ok(refreshToken, 'the consent gave a refresh token');
  const stored = storedGoogleToken(worker.wired.catalog, config.account)!;
  assert.deepEqual([stored.clientId, stored.googleUser, stored.scope], [oauthClient.clientId, user, DRIVE_READONLY]);
  assert.equal(stored.sealed.iv.length, 12);
  worker.wired.catalog.db.pragma('wal_checkpoint(TRUNCATE)');
  for (const file of catalogFiles(stack.tmp)) {
    const bytes = readFileSync(join(stack.tmp, file));
    assert.equal(bytes.includes(refreshToken), false, `${file} holds the refresh token in clear`);
    assert.equal(bytes.includes(Buffer.from(refreshToken).toString('base64')), false, `${file} holds it in base64`);
  }

  const [status] = await googleAccountStatus(config, worker.wired.catalog, { env: env() });
  assert.deepEqual(status, {
    name: 'me@example.com',
    kind: 'oauth',
    connected: true,
    tokenWorks: true,
    tokenSource: 'catalog',
    googleUser: user,
    connectedAt: stored.storedAt,
  });

  // The worker's environment has no refresh token: the sync can only work with the stored one.
  const summary = await (await startFullSync(worker.client, config)).result();
  assert.equal(summary.filesSynced, 3);
  assert.equal(summary.filesFailed, 0);
  const backedUp = readFileSync(join(stack.tmp, 'nas', 'drive', 'me@example.com', 'My Drive', 'Docs', 'a.txt'), 'utf8');
  assert.equal(backedUp, 'content of a.txt');
});

test('a revoked refresh token: the status says the token does not work and why, and a sync fails at once saying to connect again', async () => {
  const [refreshToken] = emulator.oauth.issuedRefreshTokens;
  // The user removes drive-vault's access in their Google account: the token and its access tokens stop working.
  assert.equal(emulator.oauth.revokeRefreshToken(refreshToken), true);
  const [status] = await googleAccountStatus(config, worker.wired.catalog, { env: env() });
  assert.equal(status.connected, true);
  assert.equal(status.tokenWorks, false);
  assert.match(status.error ?? '', /invalid_grant: Token has been expired or revoked\..*drive-vault auth google/);

  const tokenCallsBefore = tokenRequests();
  const handle = await startFullSync(worker.client, config);
  await assert.rejects(handle.result(), (err) => {
    assert.match(
      causeMessages(err),
      /Google refused the refresh token of account "me@example\.com" \(invalid_grant: Token has been expired or revoked\.\): connect the account again \(drive-vault auth google\)/,
    );
    return true;
  });
  // Not retried: an activity retrying it would ask for a token on every one of its 20 tries.
  assert.ok(tokenRequests() - tokenCallsBefore <= 2, `${tokenRequests() - tokenCallsBefore} token requests`);
});

test('drive-vault auth google connects again through a one-shot loopback listener, and the running worker syncs with it', async () => {
  let listener: URL | undefined;
  const connected = await runGoogleAuthFlow(config, {
    env: env(),
    logger,
    catalog: worker.wired.catalog,
    // The browser: the consent page, then Google's redirect to the CLI's listener.
    showUrl: (url) => {
      void (async () => {
        const consent = await fetch(url, { redirect: 'manual' });
        listener = new URL(consent.headers.get('location')!);
        await fetch(listener);
      })();
    },
    timeoutMs: 60_000,
  });
  assert.equal(listener?.hostname, '127.0.0.1');
  assert.equal(listener?.pathname, '/callback');
  assert.deepEqual([connected.account, connected.googleUser], ['me@example.com', user]);
  await assert.rejects(fetch(listener!), 'the listener is closed once the token is stored');
  const [status] = await googleAccountStatus(config, worker.wired.catalog, { env: env() });
  assert.equal(status.tokenWorks, true, status.error);

  await emulator.store.addFile({ name: 'after reconnect.txt', content: bytesContent('new') });
  const summary = await (await startFullSync(worker.client, config)).result();
  assert.equal(summary.filesSynced, 1, 'the worker reads the new token at its next refresh, without a restart');
  assert.equal(summary.filesFailed, 0);
});

// Found by a cold review: the account of a config of several connected as a user another account already backs up.
test('a consent for one account of a config by the Google user another account backs up is refused, and stores nothing', async () => {
  const other = { ...config, account: 'bo', catalog: { ...config.catalog, path: join(stack.tmp, 'bo', 'catalog.db') } };
  const catalog = Catalog.open(other.catalog.path);
  try {
    const consent = (otherAccounts?: Config[]) =>
      runGoogleAuthFlow(other, {
        env: env(),
        logger,
        catalog,
        otherAccounts,
        showUrl: (url) => void fetch(url, { redirect: 'manual' }).then((answer) => fetch(answer.headers.get('location')!)),
        timeoutMs: 60_000,
      });
    // me@example.com's catalog holds the token the consents above stored: the emulator's user.
    assert.equal(storedGoogleToken(worker.wired.catalog, config.account)?.googleUser, user);
    await assert.rejects(consent([config]), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'other_account');
      assert.match(err.message, new RegExp(`${user} consented, whose Drive account me@example\\.com of this config backs up`));
      return true;
    });
    assert.equal(storedGoogleToken(catalog, 'bo'), undefined, 'nothing stored');
    assert.equal((await consent()).googleUser, user, 'on its own, the same consent connects bo');
  } finally {
    catalog.close();
  }
});

test('a consent the user refuses ends drive-vault auth google with the reason, and stores nothing', async () => {
  const before = storedGoogleToken(worker.wired.catalog, config.account)?.storedAt;
  emulator.oauth.consentAnswer = 'access_denied';
  try {
    const flow = runGoogleAuthFlow(config, {
      env: env(),
      logger,
      catalog: worker.wired.catalog,
      showUrl: (url) => void fetch(url, { redirect: 'manual' }).then((consent) => fetch(consent.headers.get('location')!)),
      timeoutMs: 60_000,
    });
    await assert.rejects(flow, /Google did not grant access: access_denied/);
  } finally {
    emulator.oauth.consentAnswer = 'allow';
  }
  assert.equal(storedGoogleToken(worker.wired.catalog, config.account)?.storedAt, before);
});

test('a wrong, used or missing state, a used code and a non-loopback start are refused, and nothing is stored', async () => {
  const before = storedGoogleToken(worker.wired.catalog, config.account)!;
  const wrong = await fetch(`${api.base}/api/auth/google/callback?state=${randomBytes(32).toString('base64url')}&code=4/forged`);
  assert.equal(wrong.status, 400);
  assert.deepEqual(((await wrong.json()) as { error: { code: string } }).error.code, 'invalid_state');

  const { callbackUrl, callback } = await connectThroughApi();
  assert.equal(callback.status, 200);
  const afterConsent = storedGoogleToken(worker.wired.catalog, config.account)!;
  assert.notEqual(afterConsent.storedAt, before.storedAt);
  const replay = await fetch(callbackUrl);
  assert.equal(replay.status, 400, 'the state is good for one callback');
  assert.equal(((await replay.json()) as { error: { code: string } }).error.code, 'invalid_state');

  // A fresh state with the code already exchanged: Google refuses a code twice.
  const startReply = await fetch(`${api.base}/api/auth/google/start`, { method: 'POST' });
  const { state } = (await startReply.json()) as { state: string };
  const usedCode = new URL(callbackUrl).searchParams.get('code')!;
  const reused = await fetch(`${api.base}/api/auth/google/callback?state=${state}&code=${encodeURIComponent(usedCode)}`);
  assert.equal(reused.status, 400);
  const reusedError = ((await reused.json()) as { error: { code: string; message: string } }).error;
  assert.equal(reusedError.code, 'code_refused');
  assert.match(reusedError.message, /invalid_grant/);

  const missing = await fetch(`${api.base}/api/auth/google/callback?code=4/x`);
  assert.equal(missing.status, 400);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'bad_request');
  const denied = await fetch(`${api.base}/api/auth/google/callback?state=${state}&error=access_denied`);
  assert.equal(denied.status, 400, 'a state already used by the reused code is gone too');

  const app = new OpenAPIHono();
  app.route('/api/auth/google', googleAuthRoutes({ config, catalog: worker.wired.catalog, logger, env: env() }));
  const remote = await app.request('http://backup.example.com:8080/api/auth/google/start', { method: 'POST' });
  assert.equal(remote.status, 400);
  assert.match(((await remote.json()) as { error: { message: string } }).error.message, /loopback/);
  // Another Google user consents: their Drive would replace the one the catalog holds, and every file would seem gone.
  emulator.store.user.emailAddress = 'someone-else@drive-vault.test';
  try {
    const other = (await connectThroughApi()).callback;
    assert.equal(other.status, 409);
    assert.match(((await other.json()) as { error: { message: string } }).error.message, /holds the Drive of user@drive-vault\.test/);
  } finally {
    emulator.store.user.emailAddress = user;
  }
  // A catalog whose backup was made with the environment's token holds no stored user: with that token unset, a consent
  // cannot be checked against the user whose Drive the catalog holds, and is refused (cold review: it was stored).
  const { db } = worker.wired.catalog;
  const stored = db.prepare('SELECT * FROM google_tokens').all() as Array<Record<string, unknown>>;
  db.prepare('DELETE FROM google_tokens').run();
  try {
    emulator.store.user.emailAddress = 'someone-else@drive-vault.test';
    const unknown = (await connectThroughApi()).callback;
    assert.equal(unknown.status, 409);
    const unknownError = ((await unknown.json()) as { error: { code: string; message: string } }).error;
    assert.equal(unknownError.code, 'owner_unknown');
    assert.match(unknownError.message, /GOOGLE_REFRESH_TOKEN/);
    assert.equal(storedGoogleToken(worker.wired.catalog, config.account), undefined, 'nothing stored');
  } finally {
    emulator.store.user.emailAddress = user;
    const insert = db.prepare(
      `INSERT INTO google_tokens (${Object.keys(stored[0]).join(', ')}) VALUES (${Object.keys(stored[0])
        .map(() => '?')
        .join(', ')})`,
    );
    for (const row of stored) insert.run(...Object.values(row));
  }
  assert.equal(storedGoogleToken(worker.wired.catalog, config.account)!.storedAt, afterConsent.storedAt);
  assert.deepEqual(GOOGLE_AUTH_OPEN_PATHS, ['/api/auth/google/callback']);
  const doc = app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 'drive-vault', version: '0' } });
  assert.deepEqual(Object.keys(doc.paths ?? {}), ['/api/auth/google/start', '/api/auth/google/callback'], 'both in the OpenAPI document');
  assert.deepEqual(doc.paths?.['/api/auth/google/callback']?.get?.security, [], 'the callback is documented as open');
});

test('the token key: missing, of the wrong length, or another key each give a clear error, never the token', async () => {
  const statusWith = async (key: string | undefined) => {
    const [status] = await googleAccountStatus(config, worker.wired.catalog, {
      env: { GOOGLE_CLIENT_SECRET: oauthClient.clientSecret, DRIVE_VAULT_TOKEN_KEY: key },
    });
    assert.equal(status.tokenWorks, false);
    return status.error ?? '';
  };
  assert.match(await statusWith(undefined), /DRIVE_VAULT_TOKEN_KEY is not set/);
  assert.match(await statusWith(randomBytes(16).toString('base64')), /DRIVE_VAULT_TOKEN_KEY holds 16 bytes; .* must be 32 random bytes/);
  assert.match(await statusWith('not a key!'), /neither hex nor base64/);
  const otherKey = await statusWith(randomBytes(32).toString('hex'));
  assert.match(otherKey, /cannot decrypt the Google token stored for account "me@example\.com" with the key in DRIVE_VAULT_TOKEN_KEY/);
  for (const token of emulator.oauth.issuedRefreshTokens) assert.equal(otherKey.includes(token), false);
  const [hex] = await googleAccountStatus(config, worker.wired.catalog, {
    env: { GOOGLE_CLIENT_SECRET: oauthClient.clientSecret, DRIVE_VAULT_TOKEN_KEY: Buffer.from(tokenKey, 'base64').toString('hex') },
  });
  assert.equal(hex.tokenWorks, true, 'the same key written in hex');

  const start = await fetch(`${api.base}/api/auth/google/start`, { method: 'POST' });
  assert.equal(start.status, 200);
  const keyless = new OpenAPIHono();
  keyless.route('/g', googleAuthRoutes({ config, catalog: worker.wired.catalog, logger, env: { GOOGLE_CLIENT_SECRET: 'x' } }));
  const refused = await keyless.request('http://127.0.0.1/g/start', { method: 'POST' });
  assert.equal(refused.status, 409, 'no consent is begun whose token could not be stored');
  assert.match(((await refused.json()) as { error: { message: string } }).error.message, /DRIVE_VAULT_TOKEN_KEY is not set/);
});

test('the status gives up on a token endpoint that does not answer', async () => {
  emulator.faults.add({ match: '^POST /token', delayMs: 120_000 });
  const began = Date.now();
  const withToken = { ...env(), GOOGLE_REFRESH_TOKEN: oauthClient.refreshToken };
  const [status] = await googleAccountStatus(config, worker.wired.catalog, { env: withToken, timeoutMs: 1000 });
  assert.equal(status.connected, true);
  assert.equal(status.tokenWorks, false);
  assert.match(status.error ?? '', /the token endpoint http:\/\/127\.0\.0\.1:\d+\/token did not answer within 1000 ms/);
  assert.ok(Date.now() - began < 60_000, 'long before the token endpoint would answer');
  emulator.faults.clear();
});

/** A JWT bearer assertion signed by hand, so each claim can be made wrong. */
function assertion(claims: Record<string, unknown>, key = serviceAccount.privateKey): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const signed = `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}`;
  return `${signed}.${sign('RSA-SHA256', Buffer.from(signed), key).toString('base64url')}`;
}

test("the emulator's token endpoint checks a service account's JWT as Google does: signature, audience, times, scope, delegation", async () => {
  const now = Math.floor(Date.now() / 1000);
  const good = {
    iss: serviceAccount.clientEmail,
    sub: user,
    scope: DRIVE_READONLY,
    aud: 'https://oauth2.googleapis.com/token',
    iat: now,
    exp: now + 3600,
  };
  const grant = async (jwt: string) => {
    const reply = await fetch(`${emulator.baseUrl}token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt }),
    });
    return { status: reply.status, body: (await reply.json()) as { access_token?: string; error?: string; error_description?: string } };
  };
  const ok = await grant(assertion(good));
  assert.equal(ok.status, 200);
  assert.match(ok.body.access_token ?? '', /^ya29\./);
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const cases: Array<[string, string, number, string, RegExp]> = [
    ['another key', assertion(good, otherKey), 400, 'invalid_grant', /Invalid JWT Signature/],
    ['an unknown account', assertion({ ...good, iss: 'nobody@x.iam.gserviceaccount.com' }), 400, 'invalid_grant', /account not found/],
    ['another audience', assertion({ ...good, aud: `${emulator.baseUrl}token` }), 400, 'invalid_grant', /audience/],
    ['an expired assertion', assertion({ ...good, iat: now - 7200, exp: now - 3600 }), 400, 'invalid_grant', /short-lived/],
    ['no scope', assertion({ ...good, scope: undefined }), 400, 'invalid_scope', /scope/],
    ['a user not delegated', assertion({ ...good, sub: 'boss@drive-vault.test' }), 401, 'unauthorized_client', /unauthorized/],
    ['a scope not delegated', assertion({ ...good, scope: 'https://www.googleapis.com/auth/drive' }), 401, 'unauthorized_client', /scopes/],
  ];
  for (const [what, jwt, status, error, description] of cases) {
    const reply = await grant(jwt);
    assert.deepEqual([reply.status, reply.body.error], [status, error], what);
    assert.match(reply.body.error_description ?? '', description, what);
  }
  const tampered = assertion(good).split('.');
  tampered[1] = Buffer.from(JSON.stringify({ ...good, sub: 'boss@drive-vault.test' })).toString('base64url');
  assert.equal((await grant(tampered.join('.'))).body.error_description, 'Invalid JWT Signature.', 'claims changed after signing');
});

test('a service account with domain-wide delegation gets a token for its subject, whose files a full sync backs up', async () => {
  const keyFile = join(stack.tmp, 'service-account.json');
  const keyJson = JSON.stringify({
    type: 'service_account',
    project_id: 'vault-project',
    private_key_id: 'k1',
    private_key: privateKeyPem,
    client_email: serviceAccount.clientEmail,
    token_uri: 'https://oauth2.googleapis.com/token',
  });
  writeFileSync(keyFile, keyJson, { mode: 0o600 });
  const saConfig = (subject: string, key: Record<string, string>) =>
    stackConfig(stack, {
      google: { serviceAccount: { ...key, subject }, apiRootUrl: emulator.baseUrl, tokenUrl: `${emulator.baseUrl}token` },
      catalog: { path: join(stack.tmp, 'sa', 'catalog.db') },
      destinations: [{ kind: 'local', name: 'nas', path: join(stack.tmp, 'nas-sa') }],
    });
  const config = saConfig(user, { keyFile });
  const catalog = Catalog.open(config.catalog.path);
  try {
    const [status] = await googleAccountStatus(config, catalog, { env: {} });
    assert.deepEqual(status, { name: 'me@example.com', kind: 'serviceAccount', connected: true, tokenWorks: true, subject: user });
    const [fromEnv] = await googleAccountStatus(saConfig(user, { keyFileEnv: 'SA_KEY' }), catalog, { env: { SA_KEY: keyJson } });
    assert.equal(fromEnv.tokenWorks, true, 'the key in a variable works as the key file does');
    const [notDelegated] = await googleAccountStatus(saConfig('boss@drive-vault.test', { keyFile }), catalog, { env: {} });
    assert.equal(notDelegated.tokenWorks, false);
    assert.match(
      notDelegated.error ?? '',
      /unauthorized_client.*domain-wide delegation of https:\/\/www\.googleapis\.com\/auth\/drive\.readonly/,
    );
    const [noKey] = await googleAccountStatus(saConfig(user, { keyFileEnv: 'SA_KEY' }), catalog, { env: { SA_KEY: 'not json' } });
    assert.deepEqual([noKey.connected, noKey.tokenWorks], [false, false]);
    assert.match(noKey.error ?? '', /cannot read the service account key file not json: ENOENT/);
  } finally {
    catalog.close();
  }

  const drive = createDriveClient(createGoogleAuth(config, { env: {} }), emulator.baseUrl);
  const about = await drive.about.get({ fields: 'user(emailAddress)' });
  assert.equal(about.data.user?.emailAddress, user);
  const listed = await drive.files.list({ q: "name = 'top.txt'", fields: 'files(name)' });
  assert.deepEqual(listed.data.files, [{ name: 'top.txt' }]);

  // The OAuth worker shares the task queues: only the service account's worker may serve this run.
  await worker.stop();
  const saWorker = await startTestWorker(stack, config, { logger, env: {} });
  try {
    const summary = await (await startFullSync(saWorker.client, config)).result();
    assert.equal(summary.filesSynced, 4);
    assert.equal(summary.filesFailed, 0);
    const top = readFileSync(join(stack.tmp, 'nas-sa', 'drive', 'me@example.com', 'My Drive', 'top.txt'), 'utf8');
    assert.equal(top, 'top');
  } finally {
    await saWorker.stop();
    worker = { stop: async () => undefined } as RunningWorker;
  }
});

test('no refresh token, client secret or private key appears in the logs', () => {
  const logs = logLines.join('');
  assert.match(logs, /"event":"google\.connected"/, 'the logs were captured');
  const secrets = [...emulator.oauth.issuedRefreshTokens, oauthClient.clientSecret, tokenKey, privateKeyPem.split('\n')[1]];
  for (const secret of secrets) assert.equal(logs.includes(secret), false, `a secret in the logs: ${secret.slice(0, 8)}...`);
});
