import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hono } from 'hono';

/**
 * The dashboard's files: the page and its script from api/dashboard/, Pico's CSS and uPlot from their npm packages.
 * Served by the API itself, so the dashboard works without a CDN (and on a box with no internet at all). A fixed
 * table of names, read once: no request path ever reaches the file system.
 */
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: join(__dirname, 'dashboard', 'index.html'), type: 'text/html; charset=utf-8' },
  '/assets/dashboard.js': { file: join(__dirname, 'dashboard', 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/dashboard.css': { file: join(__dirname, 'dashboard', 'dashboard.css'), type: 'text/css; charset=utf-8' },
  '/assets/pico.min.css': { file: require.resolve('@picocss/pico/css/pico.min.css'), type: 'text/css; charset=utf-8' },
  '/assets/uPlot.iife.min.js': { file: require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/uPlot.min.css': { file: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/** The dashboard's paths: open, since they hold no data. */
export const DASHBOARD_PATHS: readonly string[] = Object.keys(ASSETS);

/** Only this origin's scripts run; Pico's icons are data: URLs. */
const CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

export function dashboardRoutes(): Hono {
  const app = new Hono();
  for (const [path, { file, type }] of Object.entries(ASSETS)) {
    const body = readFileSync(file);
    app.get(path, (c) => {
      c.header('content-type', type);
      c.header('content-security-policy', CONTENT_SECURITY_POLICY);
      c.header('x-content-type-options', 'nosniff');
      c.header('cache-control', 'no-cache');
      return c.body(body);
    });
  }
  return app;
}
