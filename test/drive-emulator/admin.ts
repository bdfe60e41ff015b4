import { z } from 'zod';
import { bytesContent, generatedContent } from './content';
import { fileResource } from './resources';
import { seedFromDirectory } from './seed';
import type { DriveEmulator, Reply } from './server';

const contentFields = {
  contentBase64: z.string().optional(),
  size: z.number().int().nonnegative().optional(),
  seed: z.number().int().optional(),
  text: z.string().optional(),
};
const newFileSchema = z
  .object({
    name: z.string().min(1),
    mimeType: z.string().optional(),
    parentId: z.string().optional(),
    driveId: z.string().optional(),
    exportSize: z.number().int().positive().optional(),
    shortcutTargetId: z.string().optional(),
    trashed: z.boolean().optional(),
    sharedWithMe: z.boolean().optional(),
    ownedByMe: z.boolean().optional(),
    abusive: z.boolean().optional(),
    ...contentFields,
  })
  .strict();
const patchSchema = z
  .object({ name: z.string().min(1).optional(), parentId: z.string().optional(), trashed: z.boolean().optional(), ...contentFields })
  .strict();
const faultSchema = z
  .object({
    match: z.string().min(1),
    times: z.number().int().positive().optional(),
    rate: z.number().min(0).max(1).optional(),
    status: z.number().int().min(100).max(599).optional(),
    reason: z.string().optional(),
    message: z.string().optional(),
    replaceBody: z.string().optional(),
    delayMs: z.number().int().nonnegative().optional(),
    cutOffAfterBytes: z.number().int().nonnegative().optional(),
    stallAfterBytes: z.number().int().nonnegative().optional(),
    wrongBytes: z.boolean().optional(),
    wrongBytesAfter: z.number().int().nonnegative().optional(),
    bytesPerSecond: z.number().positive().optional(),
  })
  .strict();

function contentOf(body: { contentBase64?: string; size?: number; seed?: number }) {
  if (body.contentBase64 !== undefined) return bytesContent(Buffer.from(body.contentBase64, 'base64'));
  if (body.size !== undefined) return generatedContent(body.size, body.seed ?? 1);
  return undefined;
}

function parse<T>(schema: z.ZodType<T>, body: Buffer): T {
  const result = schema.safeParse(body.length ? JSON.parse(body.toString()) : {});
  if (!result.success) {
    throw new AdminError(400, result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  }
  return result.data;
}

class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The test-control API under /_admin/ (no auth, no faults, not logged): see README.md. */
export async function handleAdmin(emu: DriveEmulator, method: string, url: URL, body: Buffer): Promise<Reply> {
  const path = url.pathname.slice('/_admin'.length);
  const store = emu.store;
  const view = (id: string) => fileResource(store, store.getFile(id), emu.baseUrl);
  try {
    let m: RegExpMatchArray | null;
    if (method === 'GET' && path === '/state') {
      return {
        status: 200,
        body: {
          rootId: store.rootId,
          files: store.files.size,
          drives: [...store.drives.values()],
          nextChangeToken: store.nextChangeToken(),
        },
      };
    }
    if (method === 'POST' && path === '/seed') {
      const { dir } = parse(z.object({ dir: z.string().min(1) }).strict(), body);
      const created = await seedFromDirectory(store, dir);
      return { status: 200, body: { files: Object.fromEntries([...created].map(([p, f]) => [p, f.id])) } };
    }
    if (method === 'POST' && path === '/drives') {
      const { name } = parse(z.object({ name: z.string().min(1) }).strict(), body);
      return { status: 200, body: store.addDrive(name) };
    }
    if (method === 'POST' && path === '/files') {
      const spec = parse(newFileSchema, body);
      const file = await store.addFile({ ...spec, content: contentOf(spec) });
      return { status: 200, body: view(file.id) };
    }
    if ((m = path.match(/^\/files\/([^/]+)$/))) {
      const id = decodeURIComponent(m[1]);
      if (method === 'DELETE') {
        store.delete(id);
        return { status: 204 };
      }
      if (method === 'POST' && url.searchParams.get('action') === 'revokeAccess') {
        store.revokeAccess(id);
        return { status: 204 };
      }
      if (method === 'PATCH') {
        const patch = parse(patchSchema, body);
        const content = contentOf(patch);
        if (content || patch.text !== undefined) await store.modifyContent(id, { content, text: patch.text });
        if (patch.name !== undefined) store.rename(id, patch.name);
        if (patch.parentId !== undefined) store.move(id, patch.parentId);
        if (patch.trashed !== undefined) store.setTrashed(id, patch.trashed);
        return { status: 200, body: view(id) };
      }
      if (method === 'GET') return { status: 200, body: view(id) };
    }
    if (path === '/faults') {
      if (method === 'POST') return { status: 200, body: emu.faults.add(parse(faultSchema, body)) };
      if (method === 'GET') return { status: 200, body: emu.faults.list() };
      if (method === 'DELETE') {
        emu.faults.clear();
        return { status: 204 };
      }
    }
    if (path === '/requests') {
      if (method === 'GET') return { status: 200, body: emu.requests };
      if (method === 'DELETE') {
        emu.requests.length = 0;
        return { status: 204 };
      }
    }
    if (path === '/tokens') {
      if (method === 'POST') return { status: 200, body: { access_token: emu.issueAccessToken() } };
      if (method === 'DELETE') {
        emu.expireAccessTokens();
        return { status: 204 };
      }
    }
    return { status: 404, body: { error: `no admin route ${method} ${url.pathname}` } };
  } catch (err) {
    const status = err instanceof AdminError ? err.status : err instanceof SyntaxError ? 400 : 422;
    return { status, body: { error: err instanceof Error ? err.message : String(err) } };
  }
}
