import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import type { Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';

/** Workflow histories recorded from released workflow code; every one must still replay (README, "Replay safety"). */
export const HISTORIES_DIR = join(__dirname, '..', 'histories');

/**
 * One run of a workflow, as `npm run record-histories` writes it. The workflow id is kept beside the history
 * because a history does not hold it and the workflows use it (the full sync names its listing child after it).
 */
export interface RecordedHistory {
  workflowId: string;
  workflowType: string;
  /** The history in Temporal's JSON form (`historyToJSON`, the Web UI's download). */
  history: unknown;
}

/** Every recorded history below test/histories/, with its path for failure messages. */
export function readRecordedHistories(dir = HISTORIES_DIR): Array<RecordedHistory & { file: string }> {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => {
      const recorded = JSON.parse(readFileSync(join(dir, name), 'utf8')) as RecordedHistory;
      return { file: relative(HISTORIES_DIR, join(dir, name)), ...recorded };
    });
}

/**
 * Temporal's JSON form of a history, both ways. The SDK's historyToJSON/historyFromJSON fail here with "type must be
 * a Type": npm installs two copies of protobufjs 8 (under @temporalio/common and @temporalio/proto, the top level
 * holding grpc's protobufjs 7), and the protojson of one rejects the types of the other (temporalio/omes#474).
 * The protojson of the copy that built Temporal's types works whatever the layout.
 */
interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown): History;
}
const protoJson = require(require.resolve('protobufjs/ext/protojson', { paths: [require.resolve('@temporalio/proto')] })) as ProtoJson;
const root = patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown };
const historyType = root.lookupType('temporal.api.history.v1.History');

export const historyToJson = (history: History): unknown =>
  protoJson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history));
export const historyFromJson = (json: unknown): History => protoJson.fromJson(historyType, json);

/** Every run of a workflow, from `firstRunId` along its continue-as-new chain. */
export async function runChain(client: Client, workflowId: string, firstRunId: string): Promise<History[]> {
  const runs: History[] = [];
  for (let runId: string | null | undefined = firstRunId; runId; ) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.push(history);
    runId = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
  }
  return runs;
}
