import type { Catalog } from './catalog';

export type HealthState = 'healthy' | 'degraded';

/** What one run learnt of a destination: it reached it, or it could not, and why. */
export type HealthEvidence = { state: 'healthy' } | { state: 'degraded'; reason: string };

export interface DestinationHealth {
  destination: string;
  state: HealthState;
  /** When it turned to this state (the first run that found it so). */
  since: string;
  reason: string | null;
  /** The run that last found it in this state. */
  runId: string;
  /** What people were last told about it: a turn not yet notified differs from `state`. */
  notifiedState: HealthState;
}

/**
 * Records what a run found of each destination it reached or failed to reach; destinations it did not touch keep their
 * state. `since` moves only when the state turns. Recording the same evidence again (an activity retry) changes nothing.
 */
export function recordDestinationHealth(catalog: Catalog, runId: string, evidence: Record<string, HealthEvidence>, now: string): void {
  const upsert = catalog.db.prepare(
    `INSERT INTO destination_health (destination, state, since, reason, run_id) VALUES (@destination, @state, @now, @reason, @runId)
     ON CONFLICT (destination) DO UPDATE SET
       since = CASE WHEN state = excluded.state THEN since ELSE excluded.since END,
       state = excluded.state, reason = excluded.reason, run_id = excluded.run_id`,
  );
  catalog.db.transaction(() => {
    for (const [destination, e] of Object.entries(evidence)) {
      upsert.run({ destination, state: e.state, now, reason: e.state === 'degraded' ? e.reason : null, runId });
    }
  })();
}

/** Every destination's recorded health, by name. */
export function destinationHealth(catalog: Catalog): DestinationHealth[] {
  const rows = catalog.db
    .prepare('SELECT destination, state, since, reason, run_id, notified_state FROM destination_health ORDER BY destination')
    .all() as Array<{
    destination: string;
    state: HealthState;
    since: string;
    reason: string | null;
    run_id: string;
    notified_state: HealthState;
  }>;
  return rows.map((r) => ({
    destination: r.destination,
    state: r.state,
    since: r.since,
    reason: r.reason,
    runId: r.run_id,
    notifiedState: r.notified_state,
  }));
}

/** Destinations whose state turned since people were last told: this run's turns, and any whose notice was never delivered. */
export function unnotifiedTurns(catalog: Catalog): DestinationHealth[] {
  return destinationHealth(catalog).filter((h) => h.state !== h.notifiedState);
}

/** The turns told: each destination's notified state becomes the state it was told in. */
export function markTurnsNotified(catalog: Catalog, turns: Array<Pick<DestinationHealth, 'destination' | 'state'>>): void {
  const mark = catalog.db.prepare('UPDATE destination_health SET notified_state = ? WHERE destination = ?');
  catalog.db.transaction(() => {
    for (const t of turns) mark.run(t.state, t.destination);
  })();
}
