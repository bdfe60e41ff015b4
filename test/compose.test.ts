import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';

interface Service {
  image: string;
  ports?: string[];
  depends_on?: unknown;
  environment?: Record<string, string>;
}

test('docker-compose.temporal.yml parses and runs Temporal on PostgreSQL, the Web UI and MinIO, pinned and on loopback', () => {
  const compose = parse(readFileSync(join(__dirname, '..', 'docker-compose.temporal.yml'), 'utf8')) as {
    services: Record<string, Service>;
  };
  const services = compose.services;
  for (const name of ['postgresql', 'temporal', 'temporal-ui', 'minio']) assert.ok(services[name], `service ${name}`);
  assert.match(services.postgresql.image, /^postgres:/);
  assert.match(services.temporal.image, /^temporalio\/(auto-setup|server):1\.29\.1$/, 'the server version the pinned CLI embeds');
  assert.equal(services.temporal.environment?.DB, 'postgres12');
  assert.match(services['temporal-ui'].image, /^temporalio\/ui:/);
  assert.match(services.minio.image, /^minio\/minio:RELEASE\./);
  for (const [name, service] of Object.entries(services)) {
    assert.doesNotMatch(service.image, /:latest$|^[^:]+$/, `${name} is pinned to a version`);
    for (const port of service.ports ?? []) assert.match(port, /^127\.0\.0\.1:/, `${name} publishes ${port} on loopback only`);
  }
  assert.ok(
    services['temporal-ui'].ports?.some((p) => p.endsWith(':8080') && p.includes(':8233:')),
    'Web UI on 8233 as in the docs',
  );
});
