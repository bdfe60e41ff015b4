import type { Client } from '@temporalio/client';
import type { Catalog } from '../activities/catalog/catalog';
import type { Config } from '../common/config';
import type { LogFeed } from '../common/logFeed';
import type { Logger } from '../common/logger';
import type { Metrics } from '../common/metrics';
import type { StatusCache } from './statusReport';

/** What the API runs on: the config, Temporal, the open catalog of this host, a logger and its live feed. */
export interface ApiDeps {
  config: Config;
  client: Client;
  catalog: Catalog;
  logger: Logger;
  logFeed: LogFeed;
  /** Where the token variable is read; process.env when unset. */
  env?: NodeJS.ProcessEnv;
  /** The process's metrics, served at /metrics: a worker's in the same process, or the catalog's gauges alone. */
  metrics?: Metrics;
  /** The config's other accounts (a config of several), whose Google users this account may not connect as. */
  otherAccounts?: Config[];
}

/** What the routes share besides: one status report for every client. */
export interface RouteDeps extends ApiDeps {
  status: StatusCache;
}
