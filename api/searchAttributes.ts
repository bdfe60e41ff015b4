import { SearchAttributeType, TypedSearchAttributes, defineSearchAttributeKey } from '@temporalio/common';

const backupKind = defineSearchAttributeKey('BackupKind', SearchAttributeType.KEYWORD);
const account = defineSearchAttributeKey('Account', SearchAttributeType.KEYWORD);

/** Tags a run so the Web UI can filter runs by kind and account. */
export function runSearchAttributes(kind: string, accountName: string): TypedSearchAttributes {
  return new TypedSearchAttributes([
    { key: backupKind, value: kind },
    { key: account, value: accountName },
  ]);
}
