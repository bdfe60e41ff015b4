/** Types shared by workflows and activities. Types only: the workflow bundle must not pull in Node code. */

/** Which part of the account a listing covers. */
export type DriveScope = { kind: 'my-drive' } | { kind: 'shared-drive'; driveId: string; name: string };

export interface ListingCounts {
  listed: number;
  new: number;
  changed: number;
  unchanged: number;
  /** Items with no content to back up (forms, sites, maps), recorded with the reason. */
  skipped: number;
  folders: number;
}

export interface ListDrivePageInput {
  scope: DriveScope;
  pageToken?: string;
  /** Identifies one full listing; items not seen by it were removed from Drive. */
  listingId: string;
}

/** What crosses the Temporal payload: a cursor and counts, never the file list. */
export interface ListDrivePageResult {
  nextPageToken?: string;
  counts: ListingCounts;
}

export const emptyListingCounts = (): ListingCounts => ({ listed: 0, new: 0, changed: 0, unchanged: 0, skipped: 0, folders: 0 });

export function addListingCounts(a: ListingCounts, b: ListingCounts): ListingCounts {
  return {
    listed: a.listed + b.listed,
    new: a.new + b.new,
    changed: a.changed + b.changed,
    unchanged: a.unchanged + b.unchanged,
    skipped: a.skipped + b.skipped,
    folders: a.folders + b.folders,
  };
}
