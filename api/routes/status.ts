import { createRoute, z } from '@hono/zod-openapi';
import { FILE_STATES } from '../../activities/catalog/catalogCounts';
import type { RouteDeps } from '../deps';
import { BEARER, apiRouter } from '../router';
import { errorResponses, googleAccountSchema, runOutlineSchema } from '../schemas';
import { STATUS_RUN_KINDS } from '../statusReport';

export const scheduleRowSchema = z
  .object({
    name: z.enum(['full-sync', 'sweep', 'nightly-dump', 'weekly-rollup']),
    scheduleId: z.string(),
    exists: z.boolean().openapi({ description: "false until the catalog host's worker has started once and created it" }),
    paused: z.boolean(),
    note: z.string().nullable(),
    spec: z.string().nullable().openapi({ example: 'cron 0 1 * * SUN (UTC)' }),
    nextRun: z.string().nullable(),
    lastRun: z.object({ workflowId: z.string(), scheduledAt: z.string(), startedAt: z.string(), status: z.string() }).nullable(),
    running: z.number().int(),
  })
  .openapi('Schedule');

const runningSchema = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    workflowType: z.string(),
    kind: z.string().nullable(),
    startedAt: z.string(),
    webUi: z.string(),
    progress: z
      .object({
        phase: z.string().nullable(),
        filesDone: z.number(),
        bytesDone: z.number(),
        filesFailed: z.number(),
        filesTotal: z.number().nullable(),
        bytesTotal: z.number().nullable(),
        detail: z.unknown().openapi({ description: "the workflow's own progress query answer" }),
      })
      .nullable()
      .openapi({ description: 'null for a run with no progress query (dump, rollup) or when its worker did not answer in time' }),
  })
  .openapi('RunningWorkflow');

const statusSchema = z
  .object({
    account: z.string(),
    generatedAt: z.string().openapi({ description: 'when the report was read; the API shares one report for up to 2 s' }),
    temporal: z.object({ reachable: z.boolean(), error: z.string().nullable() }),
    schedules: z.array(scheduleRowSchema),
    running: z.array(runningSchema),
    lastRuns: z.object(
      Object.fromEntries(
        STATUS_RUN_KINDS.map((k) => [k, z.object({ last: runOutlineSchema.nullable(), lastFinished: runOutlineSchema.nullable() })]),
      ) as Record<
        (typeof STATUS_RUN_KINDS)[number],
        z.ZodObject<{ last: z.ZodNullable<typeof runOutlineSchema>; lastFinished: z.ZodNullable<typeof runOutlineSchema> }>
      >,
    ),
    catalog: z.object({
      files: z
        .object({ ...Object.fromEntries(FILE_STATES.map((s) => [s, z.number().int()])), total: z.number().int() })
        .openapi({ description: 'content files still in Drive, by state' }),
      openFailures: z.number().int(),
    }),
    destinations: z.array(
      z.object({
        name: z.string(),
        kind: z.enum(['s3', 'local']),
        health: z.enum(['ok', 'degraded']),
        reasons: z.array(z.string()),
        objects: z.number().int(),
        bytes: z.number().int(),
        failedObjects: z.number().int(),
        openFailures: z.number().int(),
      }),
    ),
    accounts: z.array(googleAccountSchema),
  })
  .openapi('Status');

const status = createRoute({
  method: 'get',
  path: '/',
  summary: 'Schedules, running workflows with progress, the last run of each kind, catalog counts, destination health',
  security: BEARER,
  responses: {
    200: { description: 'the status, read at most 2 s ago', content: { 'application/json': { schema: statusSchema } } },
    ...errorResponses(),
  },
});

export function statusRoutes(deps: RouteDeps) {
  return apiRouter().openapi(status, async (c) => c.json(await deps.status.get(), 200));
}
