import { createRoute, z } from '@hono/zod-openapi';
import type { RouteDeps } from '../deps';
import { BEARER, apiRouter } from '../router';
import {
  SCHEDULE_NAMES,
  SCHEDULED_JOBS,
  pauseSchedule,
  resumeSchedule,
  scheduleRows,
  scheduleWebUiLink,
  triggerSchedule,
} from '../schedules';
import { errorResponses, noFieldsBody } from '../schemas';
import { withTemporalDeadline } from '../temporalDeadline';
import { scheduleRowSchema } from './status';

const nameParam = z.strictObject({
  name: z.enum(SCHEDULE_NAMES).openapi({ param: { name: 'name', in: 'path' }, example: 'sweep' }),
});

const actionResult = z
  .object({ name: z.enum(SCHEDULE_NAMES), scheduleId: z.string(), action: z.enum(['paused', 'resumed', 'triggered']), webUi: z.string() })
  .openapi('ScheduleAction');

const list = createRoute({
  method: 'get',
  path: '/',
  summary: 'The four schedules: paused or not, spec, next run, last run and its status',
  security: BEARER,
  responses: {
    200: { description: 'the schedules', content: { 'application/json': { schema: z.object({ items: z.array(scheduleRowSchema) }) } } },
    ...errorResponses(503),
  },
});

const noteBody = {
  content: {
    'application/json': {
      schema: z.strictObject({ note: z.string().trim().min(1).max(500).optional().openapi({ description: 'why; shown in the Web UI' }) }),
    },
  },
  required: false,
} as const;

const action = (verb: 'pause' | 'resume' | 'trigger', summary: string, body: typeof noteBody | typeof noFieldsBody) =>
  createRoute({
    method: 'post',
    path: `/{name}/${verb}`,
    summary,
    security: BEARER,
    request: { params: nameParam, body },
    responses: {
      200: { description: 'done', content: { 'application/json': { schema: actionResult } } },
      ...errorResponses(404, 413, 503),
    },
  });

/** Pause, resume and run now; a schedule no worker has created yet is a 404 saying so. */
export function scheduleRoutes(deps: RouteDeps) {
  const { client, config } = deps;
  const done = (name: (typeof SCHEDULE_NAMES)[number], verb: 'paused' | 'resumed' | 'triggered') => {
    deps.status.invalidate();
    const { scheduleId } = SCHEDULED_JOBS[name];
    deps.logger.info({ event: `api.schedule_${verb}`, schedule: name, scheduleId }, `schedule ${verb}`);
    return { name, scheduleId, action: verb, webUi: scheduleWebUiLink(config, scheduleId) };
  };
  return apiRouter()
    .openapi(list, async (c) => c.json({ items: await withTemporalDeadline(client, () => scheduleRows(client)) }, 200))
    .openapi(action('pause', 'Pause a schedule, with a note saying why', noteBody), async (c) => {
      const { name } = c.req.valid('param');
      const note = c.req.valid('json').note ?? 'paused through the drive-vault API';
      await withTemporalDeadline(client, () => pauseSchedule(client, SCHEDULED_JOBS[name], note));
      return c.json(done(name, 'paused'), 200);
    })
    .openapi(action('resume', 'Resume a paused schedule', noteBody), async (c) => {
      const { name } = c.req.valid('param');
      const note = c.req.valid('json').note ?? 'resumed through the drive-vault API';
      await withTemporalDeadline(client, () => resumeSchedule(client, SCHEDULED_JOBS[name], note));
      return c.json(done(name, 'resumed'), 200);
    })
    .openapi(action('trigger', 'Run a schedule now (skipped while a run of it is still going)', noFieldsBody), async (c) => {
      const { name } = c.req.valid('param');
      await withTemporalDeadline(client, () => triggerSchedule(client, SCHEDULED_JOBS[name]));
      return c.json(done(name, 'triggered'), 200);
    });
}
