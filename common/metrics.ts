import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** What a scrape reads from the catalog, when it happens: the values are as current as the catalog. */
export interface CatalogReadings {
  /** When each kind of run last completed, for the kinds that ever did (ISO times). */
  lastCompletedRuns(): Array<{ kind: string; endedAt: string }>;
  /** When the drive read longest ago had its changes feed last read (ISO time); undefined before any was. */
  oldestChangesRead(): string | undefined;
  /** Failures still open (a file a destination lacks or holds wrong), per destination and reason. */
  openFailures(): Array<{ destination: string; reason: string; count: number }>;
}

/**
 * One process's Prometheus metrics, in a registry of its own (so a test's workers and the API of `drive-vault start`
 * count where they are told to, never in prom-client's global one). Counters are counted where things happen: the
 * transfers on the transfer worker, the Drive requests in the Drive client. Gauges about the catalog are read from
 * it at each scrape, on the processes that hold a catalog.
 */
export class Metrics {
  readonly registry = new Registry();

  /** Objects written and verified (a HEAD showed their size and SHA-256): a file, or one export of a Workspace file. */
  readonly filesTransferred = new Counter({
    name: 'drive_vault_files_transferred_total',
    help: 'Files written to a destination and verified there by a HEAD (each export format of a Workspace file counts once)',
    labelNames: ['account', 'destination'] as const,
    registers: [this.registry],
  });

  readonly bytesTransferred = new Counter({
    name: 'drive_vault_bytes_transferred_total',
    help: 'Bytes of the files counted by drive_vault_files_transferred_total',
    labelNames: ['account', 'destination'] as const,
    registers: [this.registry],
  });

  readonly failures = new Counter({
    name: 'drive_vault_failures_total',
    help: 'Files a transfer gave up on a destination after all its tries, by the reason of the last one (retried by the next run)',
    labelNames: ['account', 'destination', 'reason'] as const,
    registers: [this.registry],
  });

  readonly driveRequests = new Counter({
    name: 'drive_vault_drive_requests_total',
    help: 'Requests sent to Google (Drive API, export links, token refreshes), by HTTP status; "error" when no reply came',
    labelNames: ['account', 'status'] as const,
    registers: [this.registry],
  });

  readonly driveRateLimited = new Counter({
    name: 'drive_vault_drive_rate_limited_total',
    help: "Drive replies that asked to slow down (429, or 403 rateLimitExceeded / userRateLimitExceeded), by Drive's reason",
    labelNames: ['account', 'reason'] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * The counters as one account's activities count: the same metrics, each sample labelled with the account (a worker
   * of a config of several accounts counts them all in one registry).
   */
  forAccount(account: string): AccountMetrics {
    const labelled = <L extends string>(counter: Counter<'account' | L>): AccountCounter<L> => ({
      inc: (labels, value) => counter.inc({ ...labels, account } as Record<'account' | L, string>, value),
    });
    return {
      filesTransferred: labelled(this.filesTransferred),
      bytesTransferred: labelled(this.bytesTransferred),
      failures: labelled(this.failures),
      driveRequests: labelled(this.driveRequests),
      driveRateLimited: labelled(this.driveRateLimited),
    };
  }

  private readonly catalogs = new Map<string, CatalogReadings>();

  /**
   * Adds the gauges read from an account's catalog at each scrape: last completed run per kind, sweep lag, open
   * failures, each labelled with the account. A second call for one account (the API and a worker of one process,
   * each with its handle on the catalog) only changes the source.
   */
  watchCatalog(account: string, readings: CatalogReadings, now: () => number = Date.now): void {
    const watching = this.catalogs.size > 0;
    this.catalogs.set(account, readings);
    if (watching) return;
    const catalogs = this.catalogs;
    const registers = [this.registry];
    new Gauge({
      name: 'drive_vault_last_success_timestamp_seconds',
      help: 'When the last run of each kind completed (unix seconds); a kind that never completed is absent',
      labelNames: ['account', 'kind'] as const,
      registers,
      collect() {
        this.reset();
        for (const [account, catalog] of catalogs) {
          for (const run of catalog.lastCompletedRuns()) this.set({ account, kind: run.kind }, Date.parse(run.endedAt) / 1000);
        }
      },
    });
    new Gauge({
      name: 'drive_vault_sweep_lag_seconds',
      help: "Seconds since the drive read longest ago had its changes feed read (by a sweep, or a full sync's tokens); absent before any",
      labelNames: ['account'] as const,
      registers,
      collect() {
        this.reset();
        for (const [account, catalog] of catalogs) {
          const readAt = catalog.oldestChangesRead();
          if (readAt !== undefined) this.set({ account }, Math.max(0, (now() - Date.parse(readAt)) / 1000));
        }
      },
    });
    new Gauge({
      name: 'drive_vault_open_failures',
      help: 'Failures not yet resolved: files a destination lacks or holds wrong, per destination and reason (from the catalog)',
      labelNames: ['account', 'destination', 'reason'] as const,
      registers,
      collect() {
        this.reset();
        for (const [account, catalog] of catalogs) {
          for (const f of catalog.openFailures()) this.set({ account, destination: f.destination, reason: f.reason }, f.count);
        }
      },
    });
  }
}

/** A counter of one account: its samples carry the account's label. */
export interface AccountCounter<L extends string> {
  inc(labels: Record<L, string>, value?: number): void;
}

/** What one account's activities count (`Metrics.forAccount`). */
export interface AccountMetrics {
  filesTransferred: AccountCounter<'destination'>;
  bytesTransferred: AccountCounter<'destination'>;
  failures: AccountCounter<'destination' | 'reason'>;
  driveRequests: AccountCounter<'status'>;
  driveRateLimited: AccountCounter<'reason'>;
}
