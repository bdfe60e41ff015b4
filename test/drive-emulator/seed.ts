import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { bytesContent, fileContent, generatedContent } from './content';
import { DriveStore, EmuFile, FOLDER, SHORTCUT, mimeFromName } from './store';

const G = 'application/vnd.google-apps.';
const workspaceTypes = ['document', 'spreadsheet', 'presentation', 'drawing', 'script', 'form', 'site', 'map', 'jam', 'fusiontable'] as const;

/**
 * The sidecar convention: `<name>.gdrive.json` beside (or instead of) a file, `.gdrive.json` inside a folder.
 * See README.md for examples.
 */
export const sidecarSchema = z
  .object({
    type: z.enum([...workspaceTypes, 'shortcut', 'binary']).optional(),
    name: z.string().min(1).optional(),
    mimeType: z.string().optional(),
    text: z.string().optional(),
    exportSize: z.number().int().positive().optional(),
    size: z.number().int().nonnegative().optional(),
    seed: z.number().int().optional(),
    target: z.string().optional(),
    dangling: z.boolean().optional(),
    trashed: z.boolean().optional(),
    sharedWithMe: z.boolean().optional(),
    ownedByMe: z.boolean().optional(),
    abusive: z.boolean().optional(),
    withoutSha256: z.boolean().optional(),
    sharedDrive: z.boolean().optional(),
  })
  .strict();
type Sidecar = z.infer<typeof sidecarSchema>;

const SIDECAR = '.gdrive.json';

function readSidecar(path: string): Sidecar {
  const parsed = sidecarSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new Error(`bad sidecar ${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/**
 * Seeds the store from a directory: folders become folders, files binary files, sidecars add Workspace
 * files, shortcuts, shared drives and flags. Returns the created files by their path relative to `dir`.
 */
export async function seedFromDirectory(store: DriveStore, dir: string): Promise<Map<string, EmuFile>> {
  const byPath = new Map<string, EmuFile>();
  const shortcuts: Array<{ file: EmuFile; target: string; sidecarPath: string }> = [];

  // Inside a folder shared with the account, items are the sharer's too unless a sidecar says otherwise.
  const walk = async (folder: string, parentId: string | undefined, driveId: string | undefined, top: boolean, inShared = false) => {
    const entries = readdirSync(folder).sort();
    for (const entry of entries) {
      if (entry === SIDECAR) continue;
      const full = join(folder, entry);
      const rel = relative(dir, full);
      const isSidecar = entry.endsWith(SIDECAR);
      const stat = statSync(full);
      if (isSidecar && entries.includes(entry.slice(0, -SIDECAR.length))) continue; // read with its file
      if (stat.isDirectory()) {
        const side: Sidecar = statSafe(join(full, SIDECAR)) ? readSidecar(join(full, SIDECAR)) : {};
        if (side.sharedDrive) {
          if (!top) throw new Error(`${rel}: only a top-level folder can be a shared drive`);
          const drive = store.addDrive(side.name ?? entry);
          await walk(full, drive.id, drive.id, false);
          continue;
        }
        const sharedWithMe = side.sharedWithMe ?? inShared;
        const created = await store.addFile({ name: side.name ?? entry, mimeType: FOLDER, parentId, driveId, trashed: side.trashed, sharedWithMe, ownedByMe: side.ownedByMe });
        byPath.set(rel, created);
        await walk(full, created.id, driveId, false, sharedWithMe);
        continue;
      }
      const side: Sidecar = isSidecar ? readSidecar(full) : statSafe(full + SIDECAR) ? readSidecar(full + SIDECAR) : {};
      const name = side.name ?? (isSidecar ? entry.slice(0, -SIDECAR.length) : entry);
      const common = {
        name,
        parentId,
        driveId,
        trashed: side.trashed,
        sharedWithMe: side.sharedWithMe ?? inShared,
        ownedByMe: side.ownedByMe,
        abusive: side.abusive,
        withoutSha256: side.withoutSha256,
      };
      let created: EmuFile;
      if (side.type === 'shortcut') {
        created = await store.addFile({ ...common, mimeType: SHORTCUT });
        if (side.dangling) created.shortcutTargetId = store.newId();
        else if (side.target) shortcuts.push({ file: created, target: side.target, sidecarPath: rel });
        else throw new Error(`${rel}: a shortcut needs "target" (a path relative to the seed directory) or "dangling": true`);
      } else if (side.type && side.type !== 'binary') {
        created = await store.addFile({ ...common, mimeType: G + side.type, text: side.text ?? name, exportSize: side.exportSize });
      } else {
        const content = side.size !== undefined ? generatedContent(side.size, side.seed ?? 1) : isSidecar ? bytesContent(side.text ?? '') : fileContent(full);
        created = await store.addFile({ ...common, mimeType: side.mimeType ?? mimeFromName(name), content });
      }
      byPath.set(isSidecar ? rel.slice(0, -SIDECAR.length) : rel, created);
    }
  };
  await walk(dir, undefined, undefined, true);
  for (const { file, target, sidecarPath } of shortcuts) {
    const resolved = byPath.get(target);
    if (!resolved) throw new Error(`${sidecarPath}: shortcut target "${target}" is not in the seed`);
    file.shortcutTargetId = resolved.id;
  }
  return byPath;
}

function statSafe(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
