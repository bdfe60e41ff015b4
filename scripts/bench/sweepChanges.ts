import { generatedContent } from '../../test/drive-emulator/content';
import { type DriveStore, type EmuFile, FOLDER } from '../../test/drive-emulator/store';
import { seededRandom } from './workloads';

/** One change of each kind per item of Drive's changes feed: a folder rename is one change, its subtree moves with it. */
export interface ChangeMix {
  new: number;
  modified: number;
  renamed: number;
  moved: number;
  trashed: number;
  deleted: number;
  folderRenamed: number;
  /** Content files under the renamed folders: each one's objects get new keys. */
  filesUnderRenamedFolders: number;
}

/** Shares of each kind in a sweep's changes; one folder rename per hundred changes takes the rest. */
const SHARES = { new: 0.2, modified: 0.2, renamed: 0.2, moved: 0.15, trashed: 0.12, deleted: 0.12 } as const;

/** A renamed folder holds this many content files, none in subfolders: each sweep renames folders of like size. */
const RENAMED_FOLDER_FILES = { min: 10, max: 60 };

const isLiveFile = (f: EmuFile) => f.mimeType !== FOLDER && !f.trashed;

/**
 * Makes `count` changes of mixed kinds in the emulated Drive, each to a different item, as a day of use would:
 * new files, new content, renames, moves, trashes, permanent deletes and folder renames (SHARES). The same Drive
 * and count give the same changes. Drive's feed then holds exactly `count` changes.
 */
export async function makeChanges(store: DriveStore, count: number, size: number, seed: number): Promise<ChangeMix> {
  const random = seededRandom(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const folderRenamed = Math.max(1, Math.round(count / 100));
  const kinds = Object.fromEntries(Object.entries(SHARES).map(([kind, share]) => [kind, Math.floor(count * share)])) as Record<
    keyof typeof SHARES,
    number
  >;
  kinds.new += count - folderRenamed - Object.values(kinds).reduce((a, b) => a + b, 0);

  const all = [...store.files.values()];
  const folders = all.filter((f) => f.mimeType === FOLDER && !f.trashed);
  const byParent = new Map<string, EmuFile[]>();
  for (const f of all) {
    const siblings = byParent.get(f.parentId ?? '');
    if (siblings) siblings.push(f);
    else byParent.set(f.parentId ?? '', [f]);
  }
  const leafFolders = folders.filter((folder) => {
    const children = byParent.get(folder.id) ?? [];
    return children.every(isLiveFile) && children.length >= RENAMED_FOLDER_FILES.min && children.length <= RENAMED_FOLDER_FILES.max;
  });
  if (leafFolders.length < folderRenamed) throw new Error(`the Drive has ${leafFolders.length} folders to rename, ${folderRenamed} needed`);
  const renamedFolders: EmuFile[] = [];
  while (renamedFolders.length < folderRenamed) {
    const folder = pick(leafFolders);
    if (!renamedFolders.includes(folder)) renamedFolders.push(folder);
  }
  // Other changes stay out of the renamed folders, so each item makes one change and the moves are counted apart.
  const inRenamed = new Set(renamedFolders.map((f) => f.id));
  const filesUnderRenamedFolders = renamedFolders.reduce((n, f) => n + (byParent.get(f.id)?.length ?? 0), 0);
  const targets = folders.filter((f) => !inRenamed.has(f.id));
  const candidates = all.filter((f) => isLiveFile(f) && !inRenamed.has(f.parentId ?? ''));
  const taken = new Set<string>();
  const nextFile = (): EmuFile => {
    if (taken.size >= candidates.length) throw new Error(`the Drive has ${candidates.length} files to change, not enough`);
    for (;;) {
      const file = pick(candidates);
      if (taken.has(file.id)) continue;
      taken.add(file.id);
      return file;
    }
  };

  for (const folder of renamedFolders) store.rename(folder.id, `${folder.name} (renamed ${seed})`);
  // Generated content's seeds: the seeded tree's files have 0 to 99,999; new and modified ones get their own.
  const contentSeed = (base: number, i: number) => base + seed * 10_000 + i;
  for (let i = 0; i < kinds.new; i++) {
    const content = generatedContent(size, contentSeed(1_000_000, i));
    await store.addFile({ name: `new-${seed}-${i}.jpg`, parentId: pick(targets).id, content });
  }
  for (let i = 0; i < kinds.modified; i++)
    await store.modifyContent(nextFile().id, { content: generatedContent(size, contentSeed(2_000_000, i)) });
  for (let i = 0; i < kinds.renamed; i++) {
    const file = nextFile();
    store.rename(file.id, `renamed-${seed}-${file.name}`);
  }
  for (let i = 0; i < kinds.moved; i++) {
    const file = nextFile();
    let to = pick(targets);
    while (to.id === file.parentId) to = pick(targets);
    store.move(file.id, to.id);
  }
  for (let i = 0; i < kinds.trashed; i++) store.setTrashed(nextFile().id, true);
  for (let i = 0; i < kinds.deleted; i++) store.delete(nextFile().id);
  return { ...kinds, folderRenamed, filesUnderRenamedFolders };
}

/** Items changed: what Drive's feed reports. */
export const changeCount = (mix: ChangeMix) =>
  mix.new + mix.modified + mix.renamed + mix.moved + mix.trashed + mix.deleted + mix.folderRenamed;

/** Files whose objects a sweep of `mix` moves to new keys, and files whose objects go under .trash/. */
export const relocatedFiles = (mix: ChangeMix) => mix.renamed + mix.moved + mix.filesUnderRenamedFolders;
export const trashedFiles = (mix: ChangeMix) => mix.trashed + mix.deleted;
export const transferredFiles = (mix: ChangeMix) => mix.new + mix.modified;
