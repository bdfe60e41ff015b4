import { SearchAttributeType, TypedSearchAttributes, defineSearchAttributeKey } from '@temporalio/common';

export const BACKUP_KIND = defineSearchAttributeKey('BackupKind', SearchAttributeType.KEYWORD);
const account = defineSearchAttributeKey('Account', SearchAttributeType.KEYWORD);

/** Tags a run so the Web UI can filter runs by kind and account. */
export function runSearchAttributes(kind: string, accountName: string): TypedSearchAttributes {
  return new TypedSearchAttributes([
    { key: BACKUP_KIND, value: kind },
    { key: account, value: accountName },
  ]);
}

/** A visibility query term for the runs of one account, its name quoted as the query language wants. */
export const accountQuery = (accountName: string): string => `Account = '${accountName.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
