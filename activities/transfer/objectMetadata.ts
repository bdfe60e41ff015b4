import type { TransferItem } from '../../common/types';
import type { ObjectMetadata } from '../storage/destination';

/** What every object of a file carries besides its bytes, whichever way it is uploaded. */
export function objectMetadataOf(item: TransferItem): ObjectMetadata {
  return {
    driveFileId: item.fileId,
    drivePath: item.drivePath,
    modifiedTime: item.modifiedTime,
    version: item.version,
    md5: item.md5 ?? undefined,
    sha256: item.sha256 ?? undefined,
  };
}
