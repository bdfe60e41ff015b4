import { createRoute, z } from '@hono/zod-openapi';
import type { Config } from '../../common/config';
import { apiRouter } from '../router';
import { DRIVE_VAULT_VERSION } from '../version';

const health = createRoute({
  method: 'get',
  path: '/health',
  summary: 'Whether the API answers (no token needed)',
  responses: {
    200: { description: 'it does', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } },
  },
});

const version = createRoute({
  method: 'get',
  path: '/version',
  summary: "drive-vault's version (no token needed)",
  responses: {
    200: {
      description: 'the version',
      content: {
        'application/json': {
          schema: z.object({
            name: z.literal('drive-vault'),
            version: z.string(),
            webUi: z.string().openapi({ description: 'the Temporal Web UI the run links point into' }),
          }),
        },
      },
    },
  },
});

/** The open routes: a load balancer or a monitor asks them without the token, and learns nothing else. */
export function metaRoutes(config: Pick<Config, 'temporal'>) {
  return apiRouter()
    .openapi(health, (c) => c.json({ status: 'ok' as const }, 200))
    .openapi(version, (c) => c.json({ name: 'drive-vault' as const, version: DRIVE_VAULT_VERSION, webUi: config.temporal.webUiUrl }, 200));
}
