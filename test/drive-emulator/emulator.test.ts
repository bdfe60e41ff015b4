import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Auth, drive_v3 } from 'googleapis';
import { driveErrorOf, startDrive, streamToBuffer } from '../support/drive';
import { bytesContent, generatedContent } from './content';
import { exportFormats, mime } from './exports';
import { DriveEmulator } from './server';
import { seedFromDirectory } from './seed';
import { zipEntryNames } from './zip';

const G = 'application/vnd.google-apps.';
let emulator: DriveEmulator;
let drive: drive_v3.Drive;

before(async () => {
  ({ emulator, drive } = await startDrive());
});
after(() => emulator.close());

const download = async (fileId: string, headers: Record<string, string> = {}, params: Record<string, unknown> = {}) => {
  const res = await drive.files.get({ fileId, alt: 'media', supportsAllDrives: true, ...params }, { responseType: 'stream', headers });
  return {
    status: res.status,
    headers: res.headers as unknown as Headers,
    bytes: await streamToBuffer(res.data as unknown as NodeJS.ReadableStream),
  };
};

describe('files.list', () => {
  test('pages through 2,500 files with opaque tokens, each file exactly once', async () => {
    const folder = await emulator.store.addFile({ name: 'many' });
    for (let i = 0; i < 2500; i++)
      await emulator.store.addFile({ name: `f${i}.txt`, parentId: folder.id, content: bytesContent(`file ${i}`) });
    const seen = new Set<string>();
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const res = await drive.files.list({
        q: `'${folder.id}' in parents`,
        pageSize: 1000,
        pageToken,
        fields: 'nextPageToken, files(id,name)',
      });
      for (const f of res.data.files ?? []) seen.add(f.id!);
      pageToken = res.data.nextPageToken ?? undefined;
      if (pageToken) assert.doesNotMatch(pageToken, /^\d+$/, 'page tokens are opaque, not offsets');
      pages++;
    } while (pageToken);
    assert.equal(seen.size, 2500);
    assert.equal(pages, 3);
  });

  test('a change between two pages shows in the pages after it', async () => {
    const folder = await emulator.store.addFile({ name: 'changing' });
    const list = (pageSize: number, pageToken?: string) =>
      drive.files.list({ q: `'${folder.id}' in parents`, orderBy: 'name', pageSize, pageToken, fields: 'nextPageToken, files(name)' });
    const names = (res: Awaited<ReturnType<typeof list>>) => res.data.files!.map((f) => f.name);
    const files = [];
    for (let i = 0; i < 3; i++)
      files.push(await emulator.store.addFile({ name: `f${i}.txt`, parentId: folder.id, content: bytesContent(`${i}`) }));
    const first = await list(2);
    assert.deepEqual(names(first), ['f0.txt', 'f1.txt']);
    await emulator.store.addFile({ name: 'f3.txt', parentId: folder.id, content: bytesContent('3') });
    emulator.store.rename(files[0].id, 'renamed.txt');
    assert.deepEqual(names(await list(2, first.data.nextPageToken!)), ['f3.txt', 'renamed.txt']);
    assert.deepEqual(names(await list(10)), ['f1.txt', 'f2.txt', 'f3.txt', 'renamed.txt']);
  });

  test('caps pageSize at 1000 and rejects a forged page token with 400 invalid', async () => {
    const res = await drive.files.list({ pageSize: 5000, fields: 'nextPageToken,files(id)' });
    assert.equal(res.data.files!.length, 1000);
    const err = await driveErrorOf(drive.files.list({ pageToken: 'not-a-token' }));
    assert.deepEqual([err.status, err.reason], [400, 'invalid']);
  });

  test('field masks: default, nested, path form, star, and an unknown field', async () => {
    const f = await emulator.store.addFile({ name: 'mask.bin', content: bytesContent('mask me') });
    const q = `name = 'mask.bin'`;
    const plain = await drive.files.list({ q });
    assert.deepEqual(Object.keys(plain.data).sort(), ['files', 'incompleteSearch', 'kind']);
    assert.deepEqual(Object.keys(plain.data.files![0]).sort(), ['id', 'kind', 'mimeType', 'name']);
    const nested = await drive.files.list({ q, fields: 'nextPageToken, files(id,name,md5Checksum)' });
    assert.deepEqual(nested.data, {
      files: [{ id: f.id, name: 'mask.bin', md5Checksum: createHash('md5').update('mask me').digest('hex') }],
    });
    const path = await drive.files.list({ q, fields: 'files/id,files/size' });
    assert.deepEqual(path.data, { files: [{ id: f.id, size: '7' }] });
    const star = await drive.files.get({ fileId: f.id, fields: '*' });
    assert.equal(star.data.sha256Checksum, createHash('sha256').update('mask me').digest('hex'));
    assert.equal(star.data.version, '1');
    const sub = await drive.files.get({ fileId: f.id, fields: 'capabilities(canDownload),owners/me' });
    assert.deepEqual(sub.data, { capabilities: { canDownload: true }, owners: [{ me: true }] });
    const bad = await driveErrorOf(drive.files.list({ q, fields: 'files(id,colour)' }));
    assert.deepEqual([bad.status, bad.reason], [400, 'invalid']);
  });

  test('the q subset: parents, trashed, mimeType, name, modifiedTime, and/or/not, escapes', async () => {
    const dir = await emulator.store.addFile({ name: 'q-dir' });
    const a = await emulator.store.addFile({ name: "it's", parentId: dir.id, content: bytesContent('a') });
    const b = await emulator.store.addFile({ name: 'b', parentId: dir.id, mimeType: `${G}document` });
    const c = await emulator.store.addFile({ name: 'c', parentId: dir.id, content: bytesContent('c'), trashed: true });
    const ids = async (q: string) => ((await drive.files.list({ q, fields: 'files(id)' })).data.files ?? []).map((f) => f.id).sort();
    const inDir = `'${dir.id}' in parents`;
    assert.deepEqual(await ids(`${inDir} and trashed = false`), [a.id, b.id].sort());
    assert.deepEqual(await ids(`${inDir} and mimeType = '${G}document'`), [b.id]);
    assert.deepEqual(await ids(`${inDir} and mimeType != '${G}document' and not trashed = true`), [a.id]);
    assert.deepEqual(await ids(`${inDir} and (name = 'it\\'s' or name = 'c')`), [a.id, c.id].sort());
    assert.deepEqual(await ids(`${inDir} and modifiedTime > '${b.modifiedTime}'`), [c.id]);
    const bad = await driveErrorOf(drive.files.list({ q: `starred = true` }));
    assert.deepEqual([bad.status, bad.reason], [400, 'invalid']);
  });
});

describe('downloads and exports', () => {
  test('alt=media honours Range with 206 and Content-Range', async () => {
    const f = await emulator.store.addFile({ name: 'big.bin', content: generatedContent(300_000, 7) });
    const whole = await download(f.id);
    assert.equal(whole.status, 200);
    assert.equal(whole.bytes.length, 300_000);
    assert.equal(createHash('md5').update(whole.bytes).digest('hex'), f.hashes!.md5);
    const part = await download(f.id, { Range: 'bytes=100000-199999' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), 'bytes 100000-199999/300000');
    assert.deepEqual(part.bytes, whole.bytes.subarray(100000, 200000));
    const tail = await download(f.id, { Range: 'bytes=299990-' });
    assert.deepEqual(tail.bytes, whole.bytes.subarray(299990));
  });

  test('every Workspace type exports to every listed target as a valid file of that type', async () => {
    const checks: Record<string, (b: Buffer) => boolean> = {
      [mime.docx]: (b) => zipEntryNames(b).includes('[Content_Types].xml') && zipEntryNames(b).includes('word/document.xml'),
      [mime.xlsx]: (b) => zipEntryNames(b).includes('[Content_Types].xml') && zipEntryNames(b).includes('xl/workbook.xml'),
      [mime.pptx]: (b) => zipEntryNames(b).includes('[Content_Types].xml') && zipEntryNames(b).includes('ppt/presentation.xml'),
      [mime.odt]: (b) => zipEntryNames(b)[0] === 'mimetype',
      [mime.ods]: (b) => zipEntryNames(b)[0] === 'mimetype',
      [mime.odp]: (b) => zipEntryNames(b)[0] === 'mimetype',
      [mime.epub]: (b) => zipEntryNames(b)[0] === 'mimetype',
      [mime.zip]: (b) => zipEntryNames(b).length === 1,
      [mime.pdf]: (b) => b.subarray(0, 5).toString() === '%PDF-' && b.toString('latin1').trimEnd().endsWith('%%EOF'),
      [mime.png]: (b) => b.subarray(1, 4).toString() === 'PNG',
      [mime.jpeg]: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
      [mime.svg]: (b) => b.toString().startsWith('<svg'),
      [mime.html]: (b) => b.toString().startsWith('<html>'),
      [mime.rtf]: (b) => b.toString().startsWith('{\\rtf1'),
      [mime.scriptJson]: (b) => Array.isArray(JSON.parse(b.toString()).files),
      [mime.txt]: (b) => b.toString().includes('Quarterly'),
      [mime.md]: (b) => b.toString().includes('Quarterly'),
      [mime.csv]: (b) => b.toString().includes('Quarterly'),
      [mime.tsv]: (b) => b.toString().includes('Quarterly'),
    };
    for (const [type, targets] of Object.entries(exportFormats)) {
      const f = await emulator.store.addFile({ name: `Quarterly ${type.slice(G.length)}`, mimeType: type, text: 'numbers' });
      for (const target of targets) {
        const res = await drive.files.export({ fileId: f.id, mimeType: target }, { responseType: 'arraybuffer' });
        const bytes = Buffer.from(res.data as ArrayBuffer);
        assert.ok(checks[target](bytes), `${type} as ${target} is not a valid ${target}`);
        const again = await drive.files.export({ fileId: f.id, mimeType: target }, { responseType: 'arraybuffer' });
        assert.deepEqual(Buffer.from(again.data as ArrayBuffer), bytes, 'exports are deterministic for a version');
      }
    }
  });

  test('an export over 10 MB fails with exportSizeLimitExceeded; its exportLink serves it whole', async () => {
    const f = await emulator.store.addFile({ name: 'Huge', mimeType: `${G}document`, exportSize: 11 * 1024 * 1024 });
    const err = await driveErrorOf(drive.files.export({ fileId: f.id, mimeType: mime.docx }));
    assert.deepEqual([err.status, err.reason], [403, 'exportSizeLimitExceeded']);
    const meta = await drive.files.get({ fileId: f.id, fields: 'exportLinks' });
    const link = meta.data.exportLinks![mime.docx];
    assert.ok(link.startsWith(emulator.baseUrl), 'export links point back at the emulator');
    const res = await (drive.context._options.auth as Auth.OAuth2Client).request<ArrayBuffer>({ url: link, responseType: 'arraybuffer' });
    const bytes = Buffer.from(res.data);
    assert.ok(bytes.length > 10 * 1024 * 1024);
    assert.ok(zipEntryNames(bytes).includes('word/document.xml'));
  });

  test('Drive error reasons: fileNotDownloadable, fileNotExportable, badRequest, notFound, required, cannotDownloadAbusiveFile', async () => {
    const doc = await emulator.store.addFile({ name: 'Doc', mimeType: `${G}document` });
    const bin = await emulator.store.addFile({ name: 'bin', content: bytesContent('x') });
    const form = await emulator.store.addFile({ name: 'Form', mimeType: `${G}form` });
    const evil = await emulator.store.addFile({ name: 'evil.exe', content: bytesContent('MZ'), abusive: true });
    const cases: Array<[() => Promise<unknown>, number, string]> = [
      [() => download(doc.id), 403, 'fileNotDownloadable'],
      [() => drive.files.export({ fileId: bin.id, mimeType: mime.pdf }), 403, 'fileNotExportable'],
      [() => drive.files.export({ fileId: doc.id, mimeType: mime.xlsx }), 400, 'badRequest'],
      [() => drive.files.export({ fileId: form.id, mimeType: mime.pdf }), 400, 'badRequest'],
      [() => drive.files.get({ fileId: 'no-such-file' }), 404, 'notFound'],
      [() => drive.about.get({}), 400, 'required'],
      [() => download(evil.id), 403, 'cannotDownloadAbusiveFile'],
    ];
    for (const [call, status, reason] of cases) {
      const err = await driveErrorOf(call());
      assert.deepEqual([err.status, err.reason], [status, reason]);
    }
    assert.deepEqual((await download(evil.id, {}, { acknowledgeAbuse: true })).bytes, Buffer.from('MZ'));
    const notFound = await driveErrorOf(drive.files.get({ fileId: 'no-such-file' }));
    assert.equal(notFound.message, 'File not found: no-such-file.');
  });

  test('about.get returns the user, quota strings and export formats', async () => {
    const res = await drive.about.get({ fields: 'user(emailAddress,me),storageQuota,exportFormats' });
    assert.equal(res.data.user!.emailAddress, 'user@drive-vault.test');
    assert.equal(typeof res.data.storageQuota!.usage, 'string');
    assert.deepEqual(res.data.exportFormats![`${G}script`], [mime.scriptJson]);
  });
});

describe('auth', () => {
  test('access tokens expire; the client refreshes through the token endpoint; a bad token is 401 authError', async () => {
    const short = await startDrive({ accessTokenLifetimeSeconds: 1 });
    try {
      const tokenCalls = () => short.emulator.requests.filter((r) => r.path === '/token' && r.status === 200).length;
      await short.drive.about.get({ fields: 'user' });
      assert.equal(tokenCalls(), 1);
      await new Promise((r) => setTimeout(r, 1100));
      const res = await short.drive.about.get({ fields: 'user' });
      assert.equal(res.status, 200);
      assert.equal(tokenCalls(), 2, 'a new access token was fetched after the first expired');
    } finally {
      await short.emulator.close();
    }
    const raw = await fetch(`${emulator.baseUrl}drive/v3/about?fields=user`, { headers: { Authorization: 'Bearer forged' } });
    assert.equal(raw.status, 401);
    assert.equal(((await raw.json()) as { error: { errors: Array<{ reason: string }> } }).error.errors[0].reason, 'authError');
    const refused = await fetch(`${emulator.baseUrl}token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: 'test-client',
        client_secret: 'test-secret',
        refresh_token: 'stolen',
      }),
    });
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as { error: string }).error, 'invalid_grant');
  });
});

describe('shared drives, shortcuts, trash, equal names', () => {
  test('shared drives list, and their files need supportsAllDrives and the drive corpus', async () => {
    const team = emulator.store.addDrive('Team');
    const f = await emulator.store.addFile({ name: 'plan.txt', driveId: team.id, content: bytesContent('plan') });
    const drives = await drive.drives.list({ pageSize: 100 });
    assert.ok(drives.data.drives!.some((d) => d.id === team.id && d.name === 'Team'));
    const hidden = await driveErrorOf(drive.files.get({ fileId: f.id }));
    assert.equal(hidden.status, 404);
    const got = await drive.files.get({ fileId: f.id, supportsAllDrives: true, fields: 'driveId,parents,owners' });
    assert.deepEqual(got.data, { driveId: team.id, parents: [team.id] });
    const listed = await drive.files.list({
      corpora: 'drive',
      driveId: team.id,
      includeItemsFromAllDrives: true,
      supportsAllDrives: true,
      fields: 'files(id)',
    });
    assert.deepEqual(listed.data.files, [{ id: f.id }]);
    const refused = await driveErrorOf(drive.files.list({ corpora: 'drive', driveId: team.id }));
    assert.equal(refused.status, 403);
    const sheet = await emulator.store.addFile({ name: 'Team sheet', driveId: team.id, mimeType: `${G}spreadsheet` });
    const exported = await drive.files.export({ fileId: sheet.id, mimeType: mime.xlsx }, { responseType: 'arraybuffer' });
    assert.ok(
      zipEntryNames(Buffer.from(exported.data as ArrayBuffer)).includes('xl/workbook.xml'),
      'files.export has no supportsAllDrives and needs none',
    );
    const myDrive = await drive.files.list({ q: `name = 'plan.txt'`, fields: 'files(id)' });
    assert.deepEqual(myDrive.data.files, [], 'shared drive items are not in the user corpus');
  });

  test('drives.list pages with a default of 10', async () => {
    for (let i = 0; i < 12; i++) emulator.store.addDrive(`D${i}`);
    const first = await drive.drives.list({});
    assert.equal(first.data.drives!.length, 10);
    const second = await drive.drives.list({ pageToken: first.data.nextPageToken! });
    assert.ok(second.data.drives!.length >= 3);
  });

  test('seeding a directory with sidecars makes folders, Workspace files, shortcuts, a shared drive, trashed items and equal names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seed-'));
    mkdirSync(join(dir, 'Projects'));
    writeFileSync(join(dir, 'Projects', 'notes.txt'), 'notes');
    writeFileSync(join(dir, 'Projects', 'notes-copy.gdrive.json'), JSON.stringify({ name: 'notes.txt', text: 'other notes' }));
    writeFileSync(join(dir, 'Projects', 'Budget.gdrive.json'), JSON.stringify({ type: 'spreadsheet', text: 'budget' }));
    writeFileSync(join(dir, 'Projects', 'link.gdrive.json'), JSON.stringify({ type: 'shortcut', target: 'Projects/notes.txt' }));
    writeFileSync(join(dir, 'old.txt'), 'old');
    writeFileSync(join(dir, 'old.txt.gdrive.json'), JSON.stringify({ trashed: true }));
    writeFileSync(join(dir, 'video.gdrive.json'), JSON.stringify({ type: 'binary', name: 'video.mp4', size: 5_000_000, seed: 3 }));
    mkdirSync(join(dir, 'Team Share'));
    writeFileSync(join(dir, 'Team Share', '.gdrive.json'), JSON.stringify({ sharedDrive: true, name: 'Seeded Team' }));
    writeFileSync(join(dir, 'Team Share', 'shared.txt'), 'shared');
    const seeded = new DriveEmulator({ seed: 'seed-test' });
    const byPath = await seedFromDirectory(seeded.store, dir);
    const files = [...seeded.store.files.values()];
    const projects = byPath.get('Projects')!;
    assert.equal(projects.mimeType, `${G}folder`);
    assert.equal(files.filter((f) => f.name === 'notes.txt' && f.parentId === projects.id).length, 2, 'equal names in one folder');
    assert.equal(byPath.get('Projects/Budget')!.mimeType, `${G}spreadsheet`);
    assert.equal(byPath.get('Projects/link')!.shortcutTargetId, byPath.get('Projects/notes.txt')!.id);
    assert.equal(byPath.get('old.txt')!.trashed, true);
    assert.equal(seeded.store.size(byPath.get('video')!), 5_000_000);
    const team = [...seeded.store.drives.values()].find((d) => d.name === 'Seeded Team')!;
    assert.equal(byPath.get('Team Share/shared.txt')!.driveId, team.id);
    const again = new DriveEmulator({ seed: 'seed-test' });
    await seedFromDirectory(again.store, dir);
    assert.deepEqual([...again.store.files.keys()], [...seeded.store.files.keys()], 'the same seed gives the same ids');
  });

  test('a shortcut carries shortcutDetails and has no content', async () => {
    const target = await emulator.store.addFile({ name: 'target.txt', content: bytesContent('t') });
    const sc = await emulator.store.addFile({ name: 'link', mimeType: `${G}shortcut`, shortcutTargetId: target.id });
    const got = await drive.files.get({ fileId: sc.id, fields: 'shortcutDetails,size,md5Checksum' });
    assert.deepEqual(got.data, { shortcutDetails: { targetId: target.id, targetMimeType: 'text/plain' } });
    const err = await driveErrorOf(download(sc.id));
    assert.equal(err.reason, 'fileNotDownloadable');
  });
});

describe('visibility: shared items and files others own', () => {
  test('an item shared with the account whose parent it cannot see has no parents in list, get and changes replies', async () => {
    const token = (await drive.changes.getStartPageToken({})).data.startPageToken!;
    const folder = await emulator.store.addFile({ name: 'From Ana', sharedWithMe: true });
    const inside = await emulator.store.addFile({
      name: 'inside.txt',
      parentId: folder.id,
      sharedWithMe: true,
      content: bytesContent('in'),
    });
    const lone = await emulator.store.addFile({ name: 'lone.txt', sharedWithMe: true, content: bytesContent('lone') });
    const fields = 'id,parents,ownedByMe,owners(emailAddress,me)';
    const ana = { emailAddress: 'colleague@drive-vault.test', me: false };
    for (const f of [folder, lone]) {
      assert.deepEqual(
        (await drive.files.get({ fileId: f.id, fields })).data,
        { id: f.id, ownedByMe: false, owners: [ana] },
        `get ${f.name}`,
      );
      const listed = await drive.files.list({ q: `name = '${f.name}'`, fields: `files(${fields})` });
      assert.deepEqual(listed.data.files, [{ id: f.id, ownedByMe: false, owners: [ana] }], `list ${f.name}`);
    }
    assert.deepEqual(
      (await drive.files.get({ fileId: inside.id, fields: 'parents' })).data,
      { parents: [folder.id] },
      "a shared folder is its items' parent",
    );
    const inRoot = await drive.files.list({ q: `'root' in parents and name = 'lone.txt'`, fields: 'files(id)' });
    assert.deepEqual(inRoot.data.files, [], 'not in My Drive');
    const changes = await drive.changes.list({ pageToken: token, fields: 'changes(fileId,file(parents))' });
    assert.deepEqual(changes.data.changes, [
      { fileId: folder.id, file: {} },
      { fileId: inside.id, file: { parents: [folder.id] } },
      { fileId: lone.id, file: {} },
    ]);
  });

  test("a file another person owns in the account's folder is listed with ownedByMe false and its My Drive parent", async () => {
    const mine = await emulator.store.addFile({ name: 'Mine' });
    const theirs = await emulator.store.addFile({
      name: 'theirs.txt',
      parentId: mine.id,
      ownedByMe: false,
      content: bytesContent('theirs'),
    });
    const fields = 'id,parents,ownedByMe,owners(emailAddress,me)';
    const expected = {
      id: theirs.id,
      parents: [mine.id],
      ownedByMe: false,
      owners: [{ emailAddress: 'colleague@drive-vault.test', me: false }],
    };
    assert.deepEqual((await drive.files.list({ q: `'${mine.id}' in parents`, fields: `files(${fields})` })).data.files, [expected]);
    assert.deepEqual((await drive.files.get({ fileId: theirs.id, fields })).data, expected);
    await assert.rejects(emulator.store.addFile({ name: 'contradiction', sharedWithMe: true, ownedByMe: true }), /shared with the account/);
  });

  test('seed sidecars and the admin API create both kinds of item', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seed-visibility-'));
    mkdirSync(join(dir, 'Mine'));
    writeFileSync(join(dir, 'Mine', 'theirs.txt'), 'theirs');
    writeFileSync(join(dir, 'Mine', 'theirs.txt.gdrive.json'), JSON.stringify({ ownedByMe: false }));
    mkdirSync(join(dir, 'From Ana'));
    writeFileSync(join(dir, 'From Ana', '.gdrive.json'), JSON.stringify({ sharedWithMe: true }));
    writeFileSync(join(dir, 'From Ana', 'notes.txt'), 'notes');
    writeFileSync(join(dir, 'lone.gdrive.json'), JSON.stringify({ name: 'lone.txt', text: 'lone', sharedWithMe: true }));
    const seeded = new DriveEmulator({ seed: 'visibility' });
    const byPath = await seedFromDirectory(seeded.store, dir);
    const view = (path: string) => {
      const f = byPath.get(path)!;
      return { parentId: f.parentId, ownedByMe: f.ownedByMe, sharedWithMe: f.sharedWithMe };
    };
    assert.deepEqual(view('Mine/theirs.txt'), { parentId: byPath.get('Mine')!.id, ownedByMe: false, sharedWithMe: false });
    assert.deepEqual(view('From Ana'), { parentId: undefined, ownedByMe: false, sharedWithMe: true });
    assert.deepEqual(
      view('From Ana/notes.txt'),
      { parentId: byPath.get('From Ana')!.id, ownedByMe: false, sharedWithMe: true },
      "inside a shared folder: the owner's too",
    );
    assert.deepEqual(view('lone'), { parentId: undefined, ownedByMe: false, sharedWithMe: true });

    const admin = (body: object) =>
      fetch(`${emulator.baseUrl}_admin/files`, { method: 'POST', body: JSON.stringify(body) }).then(
        (r) => r.json() as Promise<Record<string, unknown>>,
      );
    const mine = await admin({ name: 'Mine via admin' });
    const theirs = await admin({ name: 'theirs.bin', parentId: mine.id, ownedByMe: false, contentBase64: 'AAE=' });
    assert.deepEqual([theirs.parents, theirs.ownedByMe], [[mine.id], false]);
    const shared = await admin({ name: 'shared.bin', sharedWithMe: true, contentBase64: 'AAE=' });
    assert.deepEqual([shared.parents, shared.ownedByMe], [undefined, false]);
  });
});

describe('changes feed', () => {
  test('each mutation kind shows up in the changes feed exactly once', async () => {
    const folder = await emulator.store.addFile({ name: 'changes-dest' });
    const mutations: Array<[string, (id: string) => Promise<unknown> | unknown, boolean]> = [
      ['modify', (id) => emulator.store.modifyContent(id, { content: bytesContent('v2') }), false],
      ['rename', (id) => emulator.store.rename(id, 'renamed.txt'), false],
      ['move', (id) => emulator.store.move(id, folder.id), false],
      ['trash', (id) => emulator.store.setTrashed(id, true), false],
      ['untrash', (id) => emulator.store.setTrashed(id, false), false],
      ['delete', (id) => emulator.store.delete(id), true],
    ];
    const readAll = async (token: string) => {
      const changes: drive_v3.Schema$Change[] = [];
      let pageToken: string | undefined = token;
      let newStart: string | undefined;
      while (pageToken) {
        const res: { data: drive_v3.Schema$ChangeList } = await drive.changes.list({
          pageToken,
          pageSize: 2,
          fields: 'nextPageToken,newStartPageToken,changes(fileId,removed,file(name,trashed,parents,version))',
        });
        changes.push(...(res.data.changes ?? []));
        pageToken = res.data.nextPageToken ?? undefined;
        newStart = res.data.newStartPageToken ?? newStart;
      }
      return { changes, newStart: newStart! };
    };
    let token = (await drive.changes.getStartPageToken({})).data.startPageToken!;
    const created = await emulator.store.addFile({ name: 'changing.txt', content: bytesContent('v1') });
    let read = await readAll(token);
    assert.deepEqual(
      read.changes.map((c) => c.fileId),
      [created.id],
      'create',
    );
    token = read.newStart;
    for (const [kind, mutate, removed] of mutations) {
      await mutate(created.id);
      read = await readAll(token);
      assert.equal(read.changes.length, 1, `${kind} shows up exactly once`);
      assert.equal(read.changes[0].fileId, created.id);
      assert.equal(read.changes[0].removed, removed, `${kind} removed flag`);
      token = read.newStart;
    }
    const empty = await readAll(token);
    assert.deepEqual(empty.changes, []);
    const bad = await driveErrorOf(drive.changes.list({ pageToken: '999999999' }));
    assert.deepEqual([bad.status, bad.reason], [400, 'invalid']);
  });

  test('a rename, move or trash is a new version but keeps modifiedTime; new content moves it', async () => {
    const s = emulator.store;
    const folder = await s.addFile({ name: 'mtime-folder' });
    const f = await s.addFile({ name: 'mtime.txt', content: bytesContent('m') });
    const { modifiedTime, version } = { ...f };
    s.rename(f.id, 'mtime-renamed.txt');
    s.move(f.id, folder.id);
    s.setTrashed(f.id, true);
    s.setTrashed(f.id, false);
    assert.equal(f.modifiedTime, modifiedTime);
    assert.equal(f.version, version + 4);
    await s.modifyContent(f.id, { content: bytesContent('m2') });
    assert.ok(f.modifiedTime > modifiedTime);
  });

  test('trashing a folder trashes what it holds, each a change; restoring it restores them, not what was trashed alone', async () => {
    const s = emulator.store;
    const folder = await s.addFile({ name: 'bin-folder' });
    const inner = await s.addFile({ name: 'inner', parentId: folder.id });
    const a = await s.addFile({ name: 'a.txt', parentId: inner.id, content: bytesContent('a') });
    const alone = await s.addFile({ name: 'alone.txt', parentId: folder.id, content: bytesContent('b') });
    s.setTrashed(alone.id, true);
    const token = (await drive.changes.getStartPageToken({})).data.startPageToken!;
    s.setTrashed(folder.id, true);
    const res = await drive.changes.list({ pageToken: token, fields: 'changes(fileId,file(trashed,explicitlyTrashed))' });
    assert.deepEqual(
      new Map(res.data.changes!.map((c) => [c.fileId, c.file])),
      new Map([
        [inner.id, { trashed: true, explicitlyTrashed: false }],
        [a.id, { trashed: true, explicitlyTrashed: false }],
        [folder.id, { trashed: true, explicitlyTrashed: true }],
      ]),
    );
    s.setTrashed(folder.id, false);
    assert.deepEqual(
      [inner, a, alone].map((f) => f.trashed),
      [false, false, true],
    );
  });

  test('an item no longer shared with the account shows up removed in the feed and is gone from replies', async () => {
    const s = emulator.store;
    const shared = await s.addFile({ name: 'lent.txt', sharedWithMe: true, content: bytesContent('lent') });
    const own = await s.addFile({ name: 'own.txt', content: bytesContent('own') });
    assert.throws(() => s.revokeAccess(own.id), /only a shared item can be unshared/);
    const token = (await drive.changes.getStartPageToken({})).data.startPageToken!;
    const res = await fetch(`${emulator.baseUrl}_admin/files/${shared.id}?action=revokeAccess`, { method: 'POST' });
    assert.equal(res.status, 204);
    const changes = await drive.changes.list({ pageToken: token, fields: 'changes(fileId,removed,file(name))' });
    assert.deepEqual(changes.data.changes, [{ fileId: shared.id, removed: true }]);
    assert.equal((await driveErrorOf(drive.files.get({ fileId: shared.id }))).status, 404);
  });

  test('several changes to one file since a token collapse into its latest state', async () => {
    const token = (await drive.changes.getStartPageToken({})).data.startPageToken!;
    const f = await emulator.store.addFile({ name: 'twice.txt', content: bytesContent('1') });
    emulator.store.rename(f.id, 'twice-renamed.txt');
    const res = await drive.changes.list({ pageToken: token, fields: 'changes(fileId,file(name))' });
    assert.deepEqual(res.data.changes, [{ fileId: f.id, file: { name: 'twice-renamed.txt' } }]);
  });
});

describe('fault rules and the request log', () => {
  test('a status fault fires the set number of times; our client retries nothing by itself', async () => {
    const f = await emulator.store.addFile({ name: 'flaky.txt', content: bytesContent('flaky') });
    emulator.faults.add({ match: `GET /drive/v3/files/${f.id}\\?`, times: 2, status: 500, reason: 'backendError' });
    const start = emulator.requests.length;
    assert.equal((await driveErrorOf(drive.files.get({ fileId: f.id, fields: 'id' }))).status, 500);
    assert.equal((await driveErrorOf(drive.files.get({ fileId: f.id, fields: 'id' }))).status, 500);
    assert.equal((await drive.files.get({ fileId: f.id, fields: 'id' })).status, 200);
    const tries = emulator.requests.slice(start).filter((r) => r.path.endsWith(f.id));
    assert.deepEqual(
      tries.map((r) => r.status),
      [500, 500, 200],
      'one request per call',
    );

    emulator.faults.add({ match: `GET /drive/v3/files/${f.id}\\?`, times: 1, reason: 'userRateLimitExceeded' });
    const limited = await driveErrorOf(drive.files.get({ fileId: f.id, fields: 'id' }));
    assert.deepEqual([limited.status, limited.reason], [403, 'userRateLimitExceeded']);
    assert.equal((await drive.files.get({ fileId: f.id, fields: 'id' })).status, 200, 'the rule is spent after one firing');

    emulator.faults.add({ match: `GET /drive/v3/files/${f.id}\\?`, times: 1, reason: 'downloadQuotaExceeded' });
    assert.equal((await driveErrorOf(download(f.id))).reason, 'downloadQuotaExceeded');
    assert.deepEqual(
      emulator.faults.list().map((r) => r.fired),
      [2, 1, 1],
    );
  });

  test('a 429 rateLimitExceeded fault with a rate fires on about that share of requests', async () => {
    emulator.faults.clear();
    const f = await emulator.store.addFile({ name: 'rated.txt', content: bytesContent('r') });
    emulator.faults.add({ match: `/files/${f.id}\\?`, rate: 0.3, status: 429, reason: 'rateLimitExceeded' });
    const start = emulator.requests.length;
    for (let i = 0; i < 100; i++)
      await fetch(`${emulator.baseUrl}drive/v3/files/${f.id}?fields=id`, {
        headers: { Authorization: `Bearer ${emulator.issueAccessToken()}` },
      });
    const limited = emulator.requests.slice(start).filter((r) => r.status === 429).length;
    assert.ok(limited > 15 && limited < 45, `30% of 100 requests limited, got ${limited}`);
    emulator.faults.clear();
  });

  test('a cut-off body ends the download early and wrong bytes keep the length but break the MD5', async () => {
    const f = await emulator.store.addFile({ name: 'cut.bin', content: generatedContent(200_000, 9) });
    emulator.faults.add({ match: `/files/${f.id}\\?.*alt=media`, times: 1, cutOffAfterBytes: 50_000 });
    await assert.rejects(download(f.id));
    const logged = emulator.requests.filter((r) => r.path.endsWith(f.id)).at(-1)!;
    assert.equal(logged.bytesSent, 50_000);
    emulator.faults.add({ match: `/files/${f.id}\\?.*alt=media`, times: 1, wrongBytes: true });
    const wrong = await download(f.id);
    assert.equal(wrong.bytes.length, 200_000);
    assert.notEqual(createHash('md5').update(wrong.bytes).digest('hex'), f.hashes!.md5);
    const right = await download(f.id);
    assert.equal(createHash('md5').update(right.bytes).digest('hex'), f.hashes!.md5);
    emulator.faults.add({ match: `/files/${f.id}\\?.*alt=media`, times: 1, wrongBytes: true, wrongBytesAfter: 150_000 });
    const late = await download(f.id);
    assert.ok(late.bytes.subarray(0, 150_000).equals(right.bytes.subarray(0, 150_000)), 'intact up to wrongBytesAfter');
    assert.ok(!late.bytes.subarray(150_000).equals(right.bytes.subarray(150_000)), 'wrong after it');
    assert.deepEqual(
      emulator.requests.filter((r) => r.path.endsWith(f.id)).map((r) => r.ended),
      ['early', 'complete', 'complete', 'complete'],
    );
  });

  test('a stall fault sends part of the body, then nothing, with the connection open until the client hangs up', async () => {
    const f = await emulator.store.addFile({ name: 'stalled.bin', content: generatedContent(300_000, 4) });
    emulator.faults.add({ match: `/files/${f.id}\\?.*alt=media`, times: 1, stallAfterBytes: 100_000 });
    const hangUp = new AbortController();
    const res = await drive.files.get({ fileId: f.id, alt: 'media' }, { responseType: 'stream', signal: hangUp.signal });
    let received = 0;
    const reading = (async () => {
      for await (const chunk of res.data as unknown as AsyncIterable<Buffer>) received += chunk.length;
    })();
    const logged = () => emulator.requests.filter((r) => r.path.endsWith(f.id)).at(-1)!;
    while (received < 100_000) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual([received, logged().bytesSent, logged().ended], [100_000, 100_000, undefined], 'silent, still open');
    hangUp.abort();
    await assert.rejects(reading);
    while (logged().ended === undefined) await new Promise((r) => setTimeout(r, 20));
    assert.equal(logged().ended, 'early');
  });

  test('a delay fault holds the reply back', async () => {
    const f = await emulator.store.addFile({ name: 'slow.txt', content: bytesContent('s') });
    emulator.faults.add({ match: `/files/${f.id}\\?`, times: 1, delayMs: 300 });
    const started = Date.now();
    await drive.files.get({ fileId: f.id, fields: 'id' });
    assert.ok(Date.now() - started >= 290);
  });

  test('a rate fault sends the body no faster than the rate', async () => {
    const f = await emulator.store.addFile({ name: 'slow-body.bin', content: generatedContent(1024 * 1024, 3) });
    emulator.faults.add({ match: `/files/${f.id}\\?.*alt=media`, times: 1, bytesPerSecond: 4 * 1024 * 1024 });
    const started = Date.now();
    const res = await drive.files.get({ fileId: f.id, alt: 'media' }, { responseType: 'arraybuffer' });
    assert.equal((res.data as ArrayBuffer).byteLength, 1024 * 1024);
    assert.ok(Date.now() - started >= 230, 'a quarter of a second for 1 MiB at 4 MiB/s');
  });

  test('the admin API mutates, injects faults and shows the request log over HTTP', async () => {
    const created = (await (
      await fetch(`${emulator.baseUrl}_admin/files`, {
        method: 'POST',
        body: JSON.stringify({ name: 'via-admin.txt', contentBase64: Buffer.from('hi').toString('base64') }),
      })
    ).json()) as { id: string };
    const patched = (await (
      await fetch(`${emulator.baseUrl}_admin/files/${created.id}`, { method: 'PATCH', body: JSON.stringify({ name: 'renamed-admin.txt' }) })
    ).json()) as { name: string; version: string };
    assert.equal(patched.name, 'renamed-admin.txt');
    assert.equal(patched.version, '2');
    const bad = await fetch(`${emulator.baseUrl}_admin/faults`, { method: 'POST', body: JSON.stringify({ match: 'x', colour: 'red' }) });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /colour/);
    const log = await (await fetch(`${emulator.baseUrl}_admin/requests`)).json();
    assert.ok(Array.isArray(log) && log.length > 0);
  });
});
