import { z } from 'zod';

/**
 * One line of `manifest.jsonl.gz`. The object lines are what a restore reads: every backed-up object with its key,
 * size, SHA-256, Drive file id, file version and original Drive path. The drive and item lines carry what else the
 * catalog needs to be rebuilt from the manifest alone: every item (folders too) with its held keys, and each drive.
 */
const heldKey = z.object({ format: z.string(), key: z.string().min(1), parentKey: z.string(), name: z.string() }).strict();

export const driveLineSchema = z
  .object({
    type: z.literal('drive'),
    id: z.string().min(1),
    name: z.string(),
    kind: z.enum(['my-drive', 'shared-drive']),
    keys: z.array(heldKey),
  })
  .strict();

export const itemLineSchema = z
  .object({
    type: z.literal('item'),
    id: z.string().min(1),
    driveId: z.string().nullable(),
    kind: z.enum(['binary', 'workspace', 'folder', 'shortcut', 'unsupported']),
    name: z.string(),
    mimeType: z.string(),
    parentId: z.string().nullable(),
    size: z.number().int().nonnegative().nullable(),
    md5: z.string().nullable(),
    driveSha256: z.string().nullable(),
    modifiedTime: z.string(),
    createdTime: z.string().nullable(),
    version: z.string(),
    headRevisionId: z.string().nullable(),
    shortcutTargetId: z.string().nullable(),
    state: z.enum(['pending', 'synced', 'failed', 'deferred', 'skipped']).nullable(),
    skipReason: z.string().nullable(),
    followedFrom: z.string().nullable(),
    ownedByMe: z.boolean().nullable(),
    gone: z.string().nullable(),
    /** The readable Drive path: `My Drive/Projects/report.pdf`. */
    path: z.string(),
    keys: z.array(heldKey),
  })
  .strict();

export const objectLineSchema = z
  .object({
    type: z.literal('object'),
    destination: z.string().min(1),
    fileId: z.string().min(1),
    /** '' for a binary file's content, the export extension for a Workspace file. */
    format: z.string(),
    /** Below the destination's prefix. */
    key: z.string().min(1),
    size: z.number().int().nonnegative().nullable(),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .nullable(),
    /** The Drive version of the file this object holds. */
    version: z.string().nullable(),
    path: z.string(),
    etag: z.string().nullable(),
    /** The S3 object version written, on a versioned bucket: what a restore as of this day reads. */
    versionId: z.string().nullable(),
    state: z.enum(['uploaded', 'verified']),
  })
  .strict();

export const manifestLineSchema = z.discriminatedUnion('type', [driveLineSchema, itemLineSchema, objectLineSchema]);

export type ManifestLine = z.infer<typeof manifestLineSchema>;
export type DriveLine = z.infer<typeof driveLineSchema>;
export type ItemLine = z.infer<typeof itemLineSchema>;
export type ObjectLine = z.infer<typeof objectLineSchema>;
