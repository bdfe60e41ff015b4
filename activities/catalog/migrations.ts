/**
 * Schema migrations, applied in order, each once. Never edit a shipped migration: add the next one.
 * `files.state` applies to content (binary and Workspace files); folders and shortcuts have none.
 */
export const migrations: Array<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'initial catalog',
    sql: `
      CREATE TABLE drives (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('my-drive', 'shared-drive')),
        updated_at TEXT NOT NULL
      );
      CREATE TABLE files (
        id TEXT PRIMARY KEY,
        drive_id TEXT REFERENCES drives(id),
        kind TEXT NOT NULL CHECK (kind IN ('binary', 'workspace', 'folder', 'shortcut', 'unsupported')),
        name TEXT NOT NULL,
        mime_type TEXT NOT NULL,
        parent_id TEXT,
        size INTEGER,
        md5 TEXT,
        drive_sha256 TEXT,
        modified_time TEXT NOT NULL,
        version TEXT NOT NULL,
        head_revision_id TEXT,
        shortcut_target_id TEXT,
        state TEXT CHECK (state IN ('pending', 'synced', 'failed', 'deferred', 'skipped')),
        skip_reason TEXT,
        last_listing_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX files_state ON files(state) WHERE state IS NOT NULL;
      CREATE INDEX files_parent ON files(parent_id);
      CREATE TABLE objects (
        file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        destination TEXT NOT NULL,
        format TEXT NOT NULL DEFAULT '',
        key TEXT NOT NULL,
        size INTEGER,
        sha256 TEXT,
        etag TEXT,
        version_id TEXT,
        state TEXT NOT NULL CHECK (state IN ('pending', 'uploaded', 'verified', 'failed')),
        uploaded_at TEXT,
        verified_at TEXT,
        PRIMARY KEY (file_id, destination, format)
      );
      CREATE UNIQUE INDEX objects_key ON objects(destination, key);
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('full-sync', 'incremental-sweep', 'nightly-dump', 'weekly-rollup', 'restore', 'listing')),
        workflow_id TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
        summary TEXT
      );
      CREATE TABLE failures (
        id INTEGER PRIMARY KEY,
        file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        destination TEXT,
        run_id TEXT,
        attempts INTEGER NOT NULL,
        reason TEXT NOT NULL,
        message TEXT NOT NULL,
        first_failed_at TEXT NOT NULL,
        last_failed_at TEXT NOT NULL,
        resolved_at TEXT
      );
      CREATE INDEX failures_open ON failures(file_id) WHERE resolved_at IS NULL;
      CREATE TABLE change_tokens (
        scope TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'created time, for naming the oldest of equal names',
    sql: `ALTER TABLE files ADD COLUMN created_time TEXT;`,
  },
  {
    version: 3,
    name: 'the file version each object holds, so a retry skips destinations that already have it',
    sql: `ALTER TABLE objects ADD COLUMN file_version TEXT;`,
  },
  {
    version: 4,
    name: 'items recorded by following a shortcut, and the shortcut or folder they came through',
    sql: `ALTER TABLE files ADD COLUMN followed_from TEXT;`,
  },
  {
    version: 5,
    name: 'claiming pending files in id order without sorting them all; a counter of changes to names and places, so planned object keys are reused until one happens',
    sql: `
      DROP INDEX files_state;
      CREATE INDEX files_state_id ON files(state, id);
      CREATE TABLE catalog_state (id INTEGER PRIMARY KEY CHECK (id = 1), names_version INTEGER NOT NULL);
      INSERT INTO catalog_state (id, names_version) VALUES (1, 0);
      CREATE TRIGGER files_inserted AFTER INSERT ON files
        BEGIN UPDATE catalog_state SET names_version = names_version + 1; END;
      CREATE TRIGGER files_deleted AFTER DELETE ON files
        BEGIN UPDATE catalog_state SET names_version = names_version + 1; END;
      CREATE TRIGGER files_renamed AFTER UPDATE OF name, parent_id, drive_id, kind, mime_type, created_time ON files
        WHEN OLD.name IS NOT NEW.name OR OLD.parent_id IS NOT NEW.parent_id OR OLD.drive_id IS NOT NEW.drive_id
          OR OLD.kind IS NOT NEW.kind OR OLD.mime_type IS NOT NEW.mime_type OR OLD.created_time IS NOT NEW.created_time
        BEGIN UPDATE catalog_state SET names_version = names_version + 1; END;
      CREATE TRIGGER drives_inserted AFTER INSERT ON drives
        BEGIN UPDATE catalog_state SET names_version = names_version + 1; END;
      CREATE TRIGGER drives_renamed AFTER UPDATE OF name ON drives WHEN OLD.name IS NOT NEW.name
        BEGIN UPDATE catalog_state SET names_version = names_version + 1; END;
    `,
  },
  {
    version: 6,
    name: 'one failure row per destination, where transfers used to record a comma-separated list',
    sql: `
      WITH RECURSIVE split(id, destination, rest) AS (
        SELECT id, NULL, destination || ',' FROM failures WHERE destination LIKE '%,%'
        UNION ALL
        SELECT id, substr(rest, 1, instr(rest, ',') - 1), substr(rest, instr(rest, ',') + 1) FROM split WHERE rest != ''
      )
      INSERT INTO failures (file_id, destination, run_id, attempts, reason, message, first_failed_at, last_failed_at, resolved_at)
        SELECT f.file_id, s.destination, f.run_id, f.attempts, f.reason, f.message, f.first_failed_at, f.last_failed_at, f.resolved_at
        FROM split s JOIN failures f ON f.id = s.id WHERE s.destination IS NOT NULL AND s.destination != '';
      DELETE FROM failures WHERE destination LIKE '%,%';
      DROP INDEX failures_open;
      CREATE INDEX failures_open ON failures(file_id, destination) WHERE resolved_at IS NULL;
    `,
  },
  {
    version: 7,
    name: 'object keys recorded once given, so a key stays with its file; objects found by key, so no write replaces another file',
    sql: `
      CREATE TABLE object_keys (
        holder TEXT NOT NULL,
        format TEXT NOT NULL,
        key TEXT NOT NULL UNIQUE,
        parent_key TEXT NOT NULL,
        name TEXT NOT NULL,
        assigned_at TEXT NOT NULL,
        PRIMARY KEY (holder, format)
      );
      CREATE INDEX objects_by_key ON objects(key, file_id);
      -- The keys objects already have; parent_key is the key up to its last '/' (rtrim strips the last segment).
      -- A key two files' objects share (the old rule moved keys between files) and the '.../undefined' key
      -- parentless items got are given to no one: their files get new keys when next claimed.
      INSERT OR IGNORE INTO object_keys (holder, format, key, parent_key, name, assigned_at)
        SELECT o.file_id, o.format, o.key, substr(rtrim(o.key, replace(o.key, '/', '')), 1, length(rtrim(o.key, replace(o.key, '/', ''))) - 1),
          f.name || CASE WHEN o.format = '' THEN '' ELSE '.' || o.format END, coalesce(o.uploaded_at, f.updated_at)
        FROM objects o JOIN files f ON f.id = o.file_id
        WHERE o.key NOT LIKE '%/undefined' AND NOT EXISTS (SELECT 1 FROM objects other WHERE other.key = o.key AND other.file_id != o.file_id)
        ORDER BY o.rowid;
      -- Files the old rule robbed of an object (another file's upload took their key) are copied again.
      UPDATE files SET state = 'pending'
        WHERE state = 'synced' AND kind IN ('binary', 'workspace') AND (
          (SELECT count(DISTINCT destination) FROM objects o WHERE o.file_id = files.id) < (SELECT count(DISTINCT destination) FROM objects)
          OR EXISTS (SELECT 1 FROM objects o WHERE o.file_id = files.id AND (o.key LIKE '%/undefined'
            OR EXISTS (SELECT 1 FROM objects other WHERE other.key = o.key AND other.file_id != o.file_id))));
    `,
  },
  {
    version: 8,
    name: "who owns an item (null in shared drives); a shortcut walk's queue and resolved shortcuts, so it goes on in bounded steps",
    sql: `
      ALTER TABLE files ADD COLUMN owned_by_me INTEGER;
      CREATE TABLE shortcut_walks (
        walk_id TEXT PRIMARY KEY,
        scan_after_id TEXT
      );
      CREATE TABLE shortcut_walk_items (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        walk_id TEXT NOT NULL REFERENCES shortcut_walks(walk_id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('shortcut', 'folder')),
        item_id TEXT NOT NULL,
        parent_id TEXT,
        drive_id TEXT,
        target_id TEXT,
        following TEXT NOT NULL,
        page_token TEXT
      );
      CREATE INDEX shortcut_walk_items_walk ON shortcut_walk_items(walk_id, seq);
      CREATE TABLE shortcut_walk_resolved (
        walk_id TEXT NOT NULL REFERENCES shortcut_walks(walk_id) ON DELETE CASCADE,
        shortcut_id TEXT NOT NULL,
        PRIMARY KEY (walk_id, shortcut_id)
      );
    `,
  },
  {
    version: 9,
    name: 'objects found by when they were last verified, so an audit takes those checked longest ago first',
    sql: `CREATE INDEX objects_by_verified_at ON objects(verified_at);`,
  },
  {
    version: 10,
    name: 'when each object was last read back and re-hashed, so deep verification samples the longest unchecked first',
    sql: `
      -- '' for never, so it sorts first and a page's cursor (deep_verified_at, rowid) needs no NULL case.
      ALTER TABLE objects ADD COLUMN deep_verified_at TEXT NOT NULL DEFAULT '';
      CREATE INDEX objects_deep_verified ON objects(deep_verified_at);
    `,
  },
  {
    version: 11,
    name: 'incremental sweep: items gone from Drive, per-file transfer claims, the account hold, staged change tokens, files whose objects may be out of place, objects kept under .trash/',
    sql: `
      -- Why an item left the backup's view: trashed, removed (deleted or no longer shared), unlisted, parent-gone.
      ALTER TABLE files ADD COLUMN gone TEXT;
      -- The run transferring a pending file, so a sweep and a full sync never transfer it both.
      ALTER TABLE files ADD COLUMN claimed_by TEXT;
      -- Files whose objects may not sit where their keys say (renamed, moved, gone, back): checked by the next run.
      CREATE TABLE place_checks (file_id TEXT PRIMARY KEY, queued_at TEXT NOT NULL);
      CREATE TABLE trashed_objects (
        destination TEXT NOT NULL,
        key TEXT NOT NULL,
        file_id TEXT NOT NULL,
        format TEXT NOT NULL,
        original_key TEXT NOT NULL,
        size INTEGER,
        sha256 TEXT,
        file_version TEXT,
        -- 1 while the object holds the file's current content, so bringing the file back needs no download.
        content_current INTEGER NOT NULL,
        trashed_on TEXT NOT NULL,
        PRIMARY KEY (destination, key)
      );
      CREATE INDEX trashed_objects_file ON trashed_objects(file_id, destination, format);
      CREATE INDEX trashed_objects_day ON trashed_objects(trashed_on);
      -- The full sync that holds the account: sweeps are skipped while it runs.
      CREATE TABLE account_hold (id INTEGER PRIMARY KEY CHECK (id = 1), run_id TEXT NOT NULL, workflow_id TEXT NOT NULL, held_since TEXT NOT NULL);
      -- Start page tokens taken before a listing, made current only when the run that listed them finishes.
      CREATE TABLE staged_change_tokens (run_id TEXT NOT NULL, scope TEXT NOT NULL, token TEXT NOT NULL, PRIMARY KEY (run_id, scope));
      CREATE TABLE maintenance (task TEXT PRIMARY KEY, last_done_on TEXT NOT NULL);
    `,
  },
  {
    version: 12,
    name: 'runs found by kind and outcome, so the last completed run of each kind is one index lookup (read at every metrics scrape)',
    sql: `CREATE INDEX runs_by_kind_status ON runs(kind, status, ended_at);`,
  },
  {
    version: 13,
    name: "notifications: each destination's health and the state last notified, the notices each channel got, failures by run",
    sql: `
      -- healthy or degraded as the last run that reached (or failed to reach) it found; notified_state is what people were
      -- last told, so a turn is sent once, and sent by a later run when its notice could not be delivered.
      CREATE TABLE destination_health (
        destination TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('healthy', 'degraded')),
        since TEXT NOT NULL,
        reason TEXT,
        run_id TEXT NOT NULL,
        notified_state TEXT NOT NULL DEFAULT 'healthy' CHECK (notified_state IN ('healthy', 'degraded'))
      );
      -- A notice (its id names the run and what it says) delivered on a channel: a retry sends it only where it is missing.
      CREATE TABLE notices_sent (
        notice TEXT NOT NULL,
        channel TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        PRIMARY KEY (notice, channel)
      );
      CREATE INDEX notices_sent_at ON notices_sent(sent_at);
      -- Each run's end reads the failures it recorded.
      CREATE INDEX failures_by_run ON failures(run_id);
    `,
  },
  {
    version: 14,
    name: 'Google refresh tokens connected through the OAuth consent, encrypted',
    sql: `
      -- One row per account. AES-256-GCM: the key comes from the environment (google.tokenKeyEnv), never from here.
      CREATE TABLE google_tokens (
        account TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        iv BLOB NOT NULL,
        ciphertext BLOB NOT NULL,
        tag BLOB NOT NULL,
        scope TEXT NOT NULL,
        -- The Google user who consented, so a later consent by another user cannot silently swap the Drive backed up.
        google_user TEXT,
        stored_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 15,
    name: 'control API: objects and bytes per destination kept by triggers, bytes written per day, counts and pages from indexes',
    sql: `
      -- Read by every status and storage page at once, where a count over every object (2,000,000 at 1,000,000 files on
      -- two destinations) would stall the process for a second. Every write to objects keeps it: no REPLACE is used on
      -- objects (its deletes fire no trigger), and the deletes a removed file cascades to fire them.
      CREATE TABLE object_totals (
        destination TEXT NOT NULL,
        state TEXT NOT NULL,
        objects INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        PRIMARY KEY (destination, state)
      );
      INSERT INTO object_totals (destination, state, objects, bytes)
        SELECT destination, state, count(*), coalesce(sum(size), 0) FROM objects GROUP BY destination, state;
      CREATE TRIGGER objects_counted AFTER INSERT ON objects BEGIN
        INSERT INTO object_totals (destination, state, objects, bytes) VALUES (NEW.destination, NEW.state, 1, coalesce(NEW.size, 0))
          ON CONFLICT (destination, state) DO UPDATE SET objects = objects + 1, bytes = bytes + excluded.bytes;
      END;
      CREATE TRIGGER objects_uncounted AFTER DELETE ON objects BEGIN
        UPDATE object_totals SET objects = objects - 1, bytes = bytes - coalesce(OLD.size, 0)
          WHERE destination = OLD.destination AND state = OLD.state;
      END;
      CREATE TRIGGER objects_recounted AFTER UPDATE OF destination, state, size ON objects
        WHEN OLD.destination IS NOT NEW.destination OR OLD.state IS NOT NEW.state OR OLD.size IS NOT NEW.size
      BEGIN
        UPDATE object_totals SET objects = objects - 1, bytes = bytes - coalesce(OLD.size, 0)
          WHERE destination = OLD.destination AND state = OLD.state;
        INSERT INTO object_totals (destination, state, objects, bytes) VALUES (NEW.destination, NEW.state, 1, coalesce(NEW.size, 0))
          ON CONFLICT (destination, state) DO UPDATE SET objects = objects + 1, bytes = bytes + excluded.bytes;
      END;
      -- Objects and bytes transfers wrote to each destination per UTC day, added as each batch is recorded. Catalogs
      -- from before start with what their objects show: an object written again since counts on its last day only.
      CREATE TABLE transfer_days (
        day TEXT NOT NULL,
        destination TEXT NOT NULL,
        objects INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        PRIMARY KEY (day, destination)
      );
      INSERT INTO transfer_days (day, destination, objects, bytes)
        SELECT substr(uploaded_at, 1, 10), destination, count(*), coalesce(sum(size), 0) FROM objects
        WHERE uploaded_at IS NOT NULL GROUP BY 1, 2;
      -- Files still in Drive by state, counted from the index alone.
      CREATE INDEX files_present_state ON files(state, gone) WHERE gone IS NULL AND state IS NOT NULL;
      CREATE INDEX runs_by_start ON runs(started_at, id);
      CREATE INDEX runs_by_kind ON runs(kind, started_at, id);
      CREATE INDEX failures_open_by_id ON failures(id) WHERE resolved_at IS NULL;
    `,
  },
  {
    version: 16,
    name: 'sweep lag: when a staged change token was taken, which is what the changes are read up to once it is current',
    sql: `ALTER TABLE staged_change_tokens ADD COLUMN taken_at TEXT;`,
  },
];
