// The drive-vault dashboard: reads the control API with the token the user typed (kept for this tab only) and
// redraws every few seconds. Everything that comes from Drive (file names, paths) or the API is set as text,
// never as HTML: a file named <script> stays a name.
'use strict';

const TOKEN_KEY = 'drive-vault-token';
const ACCOUNT_KEY = 'drive-vault-account';
const REFRESH_MS = 3000;
const LOG_LINES = 500;

let chart;
/** Where the shown account's routes are: `/api` with one account in the config, `/api/accounts/<label>` with several. */
let accountBase = '/api';
const route = (path) => `${accountBase}${path}`;
/**
 * The routes of the account the page shows: a button acts on the account whose rows it sits among, even while the
 * page still shows them after another account was chosen.
 */
let shownBase = accountBase;
const shownRoute = (path) => `${shownBase}${path}`;

const $ = (id) => document.getElementById(id);

/** An element with text or child nodes, and attributes. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(c ?? ''));
  return node;
}

const link = (href, text) => el('a', { href, target: '_blank', rel: 'noopener' }, text);

function bytes(n) {
  if (!n) return '0 B';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  const i = Math.min(units.length - 1, Math.floor(Math.log(n) / Math.log(1024)));
  return `${(n / 1024 ** i).toFixed(i ? 1 : 0)} ${units[i]}`;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');

class Unauthorized extends Error {}

async function api(path, init = {}) {
  const res = await fetch(path, {
    ...init,
    headers: { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}`, 'content-type': 'application/json', ...init.headers },
  });
  if (res.status === 401) throw new Unauthorized('the token was refused');
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
  return body;
}

/** Runs an action from a button, shows its error if any, and redraws at once. */
async function act(button, path) {
  button.disabled = true;
  try {
    await api(path, { method: 'POST', body: '{}' });
    $('problem').textContent = '';
  } catch (err) {
    $('problem').textContent = `${path}: ${err.message}`;
  } finally {
    button.disabled = false;
    await refresh();
  }
}

function fillTable(id, rows, empty) {
  const body = $(id).tBodies[0];
  body.replaceChildren(
    ...(rows.length ? rows : [el('tr', {}, el('td', { colspan: $(id).tHead.rows[0].cells.length, class: 'muted' }, empty))]),
  );
}

function progressCell(p) {
  if (!p) return el('td', { class: 'muted' }, 'no progress reported');
  const text = `${p.phase ?? ''} ${p.filesDone} files, ${bytes(p.bytesDone)}${p.filesFailed ? `, ${p.filesFailed} failed` : ''}`;
  const bar = p.filesTotal ? el('progress', { value: p.filesDone, max: p.filesTotal }) : el('progress');
  return el('td', { class: 'progress', 'data-files': p.filesDone }, bar, text);
}

function drawOverview(status) {
  const files = status.catalog.files;
  const degraded = status.destinations.filter((d) => d.health !== 'ok');
  const card = (title, value, note, cls) =>
    el('article', {}, el('p', { class: 'muted' }, title), el('h3', { class: cls }, value), el('p', { class: 'muted' }, note));
  $('overview').replaceChildren(
    card(
      'Files backed up',
      files.synced?.toLocaleString() ?? '0',
      `${files.total.toLocaleString()} in the catalog, ${files.pending ?? 0} pending`,
    ),
    card('Open failures', String(status.catalog.openFailures), 'files a run could not back up', status.catalog.openFailures ? 'bad' : 'ok'),
    card(
      'Destinations',
      degraded.length ? `${degraded.length} degraded` : 'all ok',
      status.destinations.map((d) => d.name).join(', '),
      degraded.length ? 'bad' : 'ok',
    ),
    card(
      'Temporal',
      status.temporal.reachable ? 'reachable' : 'unreachable',
      status.temporal.error ?? `${status.running.length} running`,
      status.temporal.reachable ? 'ok' : 'bad',
    ),
  );
  $('account').textContent = `account ${status.account}`;
  $('generated').textContent = `as of ${when(status.generatedAt)}`;
}

function drawSchedules(status) {
  fillTable(
    'schedules',
    status.schedules.map((s) => {
      const button = (verb, label) => {
        const b = el('button', { class: 'small', 'data-action': verb, 'data-schedule': s.name }, label);
        b.addEventListener('click', () => act(b, shownRoute(`/schedules/${s.name}/${verb}`)));
        return b;
      };
      const state = !s.exists ? 'not created yet' : s.paused ? `paused${s.note ? `: ${s.note}` : ''}` : 'active';
      return el(
        'tr',
        { 'data-schedule': s.name },
        el('td', {}, s.name),
        el('td', {}, s.spec ?? '—'),
        el('td', {}, when(s.nextRun)),
        el('td', {}, s.lastRun ? `${when(s.lastRun.startedAt)} (${s.lastRun.status})` : '—'),
        el('td', { class: s.paused ? 'warn' : '' }, state),
        el('td', {}, s.exists ? [s.paused ? button('resume', 'Resume') : button('pause', 'Pause'), button('trigger', 'Run now')] : ''),
      );
    }),
    status.temporal.reachable ? 'no schedule yet: the catalog host worker creates them' : 'Temporal is unreachable',
  );
}

function drawRunning(status) {
  fillTable(
    'running',
    status.running.map((r) =>
      el(
        'tr',
        { 'data-workflow-id': r.workflowId },
        el('td', {}, link(r.webUi, r.workflowId)),
        el('td', {}, r.kind ?? r.workflowType),
        el('td', {}, when(r.startedAt)),
        progressCell(r.progress),
      ),
    ),
    'nothing running',
  );
}

function drawRuns(runs) {
  fillTable(
    'runs',
    runs.items.map((r) =>
      el(
        'tr',
        { 'data-workflow-id': r.workflowId },
        el('td', {}, link(r.webUi, r.workflowId)),
        el('td', {}, r.kind),
        el('td', {}, when(r.startedAt)),
        el('td', {}, when(r.endedAt)),
        el('td', { class: r.status === 'completed' ? 'ok' : r.status === 'running' ? '' : 'bad' }, r.status),
      ),
    ),
    'no run yet',
  );
}

function drawFailures(failures) {
  fillTable(
    'failures',
    failures.items.map((f) => {
      const retry = el('button', { class: 'small outline' }, 'Retry');
      retry.addEventListener('click', () => act(retry, shownRoute(`/failures/${encodeURIComponent(f.fileId)}/retry`)));
      return el(
        'tr',
        { 'data-file-id': f.fileId },
        el('td', {}, f.path ?? f.fileId),
        el('td', {}, f.destination ?? '—'),
        el('td', {}, `${f.reason}: ${f.message}`),
        el('td', {}, when(f.lastFailedAt)),
        el('td', {}, retry),
      );
    }),
    'no open failure',
  );
  $('retry-all').disabled = failures.items.length === 0;
}

function drawStorage(status, storage) {
  fillTable(
    'storage',
    status.destinations.map((d) =>
      el(
        'tr',
        {},
        el('td', {}, d.name),
        el('td', {}, d.kind),
        el(
          'td',
          { class: d.health === 'ok' ? 'ok' : 'bad', title: d.reasons.join('; ') },
          d.health === 'ok' ? 'ok' : `degraded: ${d.reasons.join('; ')}`,
        ),
        el('td', {}, d.objects.toLocaleString()),
        el('td', {}, bytes(d.bytes)),
      ),
    ),
    'no destination configured',
  );
  drawBytesChart(storage.bytesPerDay ?? []);
}

function drawBytesChart(days) {
  const xs = days.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 1000);
  const ys = days.map((d) => d.bytes / 1024 ** 2);
  const data = [xs, ys];
  const width = Math.max(300, $('bytes-chart').clientWidth || 600);
  if (!chart) {
    chart = new uPlot(
      {
        width,
        height: 200,
        series: [
          {},
          { label: 'MiB transferred', stroke: '#1f6feb', fill: 'rgba(31,111,235,0.15)', paths: uPlot.paths.bars({ size: [0.6, 40] }) },
        ],
        axes: [{}, { label: 'MiB' }],
        scales: { x: { time: true } },
      },
      data,
      $('bytes-chart'),
    );
  } else chart.setData(data);
  $('bytes-chart').dataset.days = String(days.length);
}

async function refresh() {
  const base = accountBase;
  try {
    const [status, runs, failures, storage] = await Promise.all([
      api(route('/status')),
      api(route('/runs?limit=15')),
      api(route('/failures?limit=50')),
      api(route('/storage')),
    ]);
    // Another account was chosen meanwhile: its own refresh draws it.
    if (base !== accountBase) return;
    shownBase = base;
    drawOverview(status);
    drawSchedules(status);
    drawRunning(status);
    drawRuns(runs);
    drawFailures(failures);
    drawStorage(status, storage);
    document.body.dataset.loaded = 'true';
  } catch (err) {
    if (err instanceof Unauthorized) return showLogin(err.message);
    $('problem').textContent = `could not read the status: ${err.message}`;
  }
}

/**
 * The live log: Server-Sent Events read with fetch, since EventSource cannot send the token. A reconnect sends the last
 * line's id, so only newer lines come; a refused token waits for the sign-in and tries again.
 */
let logConnection;
async function followLog() {
  const pane = $('log');
  let lastId;
  let base;
  for (;;) {
    try {
      // Each account's log has its own lines: another account chosen starts its log afresh.
      if (base !== accountBase) {
        base = accountBase;
        lastId = undefined;
        pane.replaceChildren();
      }
      const headers = { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}`, accept: 'text/event-stream' };
      if (lastId) headers['last-event-id'] = lastId;
      logConnection = new AbortController();
      const res = await fetch(`${base}/log`, { headers, signal: logConnection.signal });
      if (res.ok) {
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          const events = buffer.split('\n\n');
          buffer = events.pop();
          for (const event of events) {
            const lines = event.split('\n');
            const id = lines.find((l) => l.startsWith('id:'));
            if (id) lastId = id.slice(3).trim();
            const data = lines
              .filter((l) => l.startsWith('data:'))
              .map((l) => l.slice(5).trimStart())
              .join('\n');
            if (data) appendLogLine(pane, data);
          }
        }
      }
    } catch {
      // The API went away or restarted, or another account was chosen: try again.
    }
    if (base === accountBase) await new Promise((r) => setTimeout(r, 2000));
  }
}

const LEVELS = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
/** The fields a log line is told by, after its event: ids first. */
const LOG_FIELDS = ['workflowId', 'fileId', 'destination', 'schedule', 'method', 'path', 'status', 'err'];

function appendLogLine(pane, data) {
  let text = data;
  let level = '';
  try {
    const line = JSON.parse(data);
    level = LEVELS[line.level] ?? String(line.level ?? '');
    const fields = LOG_FIELDS.filter((k) => line[k] !== undefined).map(
      (k) => `${k}=${typeof line[k] === 'object' ? (line[k].message ?? JSON.stringify(line[k])) : line[k]}`,
    );
    text = [line.time ? new Date(line.time).toLocaleTimeString() : '', level, line.event ?? '', line.msg ?? '', ...fields]
      .filter(Boolean)
      .join(' ');
  } catch {
    // Not JSON: shown as sent.
  }
  const atBottom = pane.scrollTop + pane.clientHeight >= pane.scrollHeight - 4;
  pane.append(el('div', { class: level === 'error' || level === 'fatal' ? 'bad' : level === 'warn' ? 'warn' : '' }, text));
  while (pane.childElementCount > LOG_LINES) pane.firstElementChild.remove();
  if (atBottom) pane.scrollTop = pane.scrollHeight;
}

function showLogin(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  $('dashboard').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message ?? '';
}

/** Shows the account chosen (or the first) and its routes; the selector only when the config lists several. */
function chooseAccount(accounts) {
  const select = $('account-select');
  const names = accounts.map((a) => a.account);
  select.hidden = names.length < 2;
  if (select.hidden) {
    accountBase = '/api';
    return;
  }
  if (select.options.length !== names.length) select.replaceChildren(...names.map((n) => el('option', { value: n }, n)));
  select.value = names.includes(sessionStorage.getItem(ACCOUNT_KEY)) ? sessionStorage.getItem(ACCOUNT_KEY) : names[0];
  accountBase = accounts[names.indexOf(select.value)].path;
}

let started = false;
async function showDashboard() {
  $('login').hidden = true;
  $('dashboard').hidden = false;
  try {
    chooseAccount((await api('/api/accounts')).items);
  } catch (err) {
    if (err instanceof Unauthorized) return showLogin(err.message);
    $('problem').textContent = `could not read the accounts: ${err.message}`;
  }
  refresh();
  if (started) return;
  started = true;
  setInterval(() => sessionStorage.getItem(TOKEN_KEY) && refresh(), REFRESH_MS);
  followLog();
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value);
  showDashboard();
});
$('retry-all').addEventListener('click', () => act($('retry-all'), shownRoute('/failures/retry')));
$('account-select').addEventListener('change', async () => {
  sessionStorage.setItem(ACCOUNT_KEY, $('account-select').value);
  await showDashboard();
  logConnection?.abort();
});
fetch('/api/version')
  .then((r) => r.json())
  .then((v) => v.webUi && ($('webui').href = v.webUi))
  .catch(() => {});

if (sessionStorage.getItem(TOKEN_KEY)) showDashboard();
else showLogin();
