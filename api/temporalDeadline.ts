import type { Client } from '@temporalio/client';

/** How long a request waits on Temporal before it answers 503: the SDK would otherwise retry an unreachable server for long. */
export const TEMPORAL_CALL_MS = 10_000;

export const withTemporalDeadline = <T>(client: Client, call: () => Promise<T>, ms = TEMPORAL_CALL_MS): Promise<T> =>
  client.withDeadline(Date.now() + ms, call);
