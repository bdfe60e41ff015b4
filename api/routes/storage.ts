import { createRoute, z } from '@hono/zod-openapi';
import { objectTotals, trashTotals } from '../../activities/catalog/catalogCounts';
import { type TransferDay, transferDays } from '../../activities/catalog/transferDays';
import type { RouteDeps } from '../deps';
import { BEARER, apiRouter } from '../router';
import { errorResponses } from '../schemas';

const counts = z.object({ objects: z.number().int(), bytes: z.number().int() });

const storageSchema = z
  .object({
    destinations: z.array(
      z.object({
        name: z.string(),
        objects: z.number().int(),
        bytes: z.number().int().openapi({ description: 'recorded sizes of the objects the catalog gives to files' }),
        byState: z.record(z.string(), counts).openapi({ description: 'by object state: pending, uploaded, verified, failed' }),
        trash: counts.openapi({ description: 'objects kept under .trash/ until trashRetentionDays' }),
      }),
    ),
    bytesPerDay: z
      .array(
        z.object({
          day: z.string().openapi({ example: '2026-11-25' }),
          objects: z.number().int(),
          bytes: z.number().int(),
          perDestination: z.record(z.string(), counts),
        }),
      )
      .openapi({
        description:
          'objects and bytes transfers wrote per UTC day (every destination together, and each), oldest first, every day of the range',
      }),
  })
  .openapi('Storage');

const storage = createRoute({
  method: 'get',
  path: '/',
  summary: 'Objects and bytes per destination, and bytes transferred per day',
  security: BEARER,
  request: {
    query: z.strictObject({ days: z.coerce.number().int().min(1).max(366).default(30).openapi({ description: 'days back, 1 to 366' }) }),
  },
  responses: {
    200: { description: 'storage', content: { 'application/json': { schema: storageSchema } } },
    ...errorResponses(),
  },
});

/** Every day of the range, a day without transfers as zeros: a chart's bars stand where the days are. */
function perDay(range: string[], rows: TransferDay[]) {
  const days = new Map(
    range.map((day) => [day, { day, objects: 0, bytes: 0, perDestination: {} as Record<string, { objects: number; bytes: number }> }]),
  );
  for (const r of rows) {
    const d = days.get(r.day);
    if (!d) continue;
    d.objects += r.objects;
    d.bytes += r.bytes;
    d.perDestination[r.destination] = { objects: r.objects, bytes: r.bytes };
  }
  return [...days.values()];
}

export function storageRoutes(deps: RouteDeps) {
  return apiRouter().openapi(storage, (c) => {
    const { days } = c.req.valid('query');
    const totals = objectTotals(deps.catalog);
    const trash = trashTotals(deps.catalog);
    const names = [...new Set([...deps.config.destinations.map((d) => d.name), ...totals.keys()])];
    const range = Array.from({ length: days }, (_, i) => new Date(Date.now() - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10));
    return c.json(
      {
        destinations: names.map((name) => ({
          name,
          objects: totals.get(name)?.objects ?? 0,
          bytes: totals.get(name)?.bytes ?? 0,
          byState: totals.get(name)?.byState ?? {},
          trash: trash.get(name) ?? { objects: 0, bytes: 0 },
        })),
        bytesPerDay: perDay(range, transferDays(deps.catalog, range[0]!)),
      },
      200,
    );
  });
}
