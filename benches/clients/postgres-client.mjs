// PostgreSQL client under test (postgres suite): one connection to the suite's server, one workload.
//   --impl=iocrate | postgres.js | pg | pg-native   --port=N [--user=postgres --database=postgres]
//   --mode=select --callers=C [--latency-every=N]
//       C async callers on the one connection, each awaiting `select $1::int as n` in a loop (the answer must
//       be the number sent). {"cmd":"sample"} → {"ops","errors","t"} (+ "latencyMs" with "latency": true),
//       {"cmd":"stop"} → final {"ops","errors"}.
//   --mode=rows [--batch=5000]
//       {"cmd":"run","rows":N} fetches `rowsQuery(N)` (generate_series(1, N)) into JS objects and answers
//       {"rows","ms","sum"} once every row arrived (the count, the sum of column i and the last row's values are
//       checked). iocrate: cursor(text, params, { batchSize }) when the API exists, else one query() (every row in
//       memory); postgres.js: sql.unsafe(text).cursor(batch); pg: pg-cursor read(batch) when installed, else one
//       query(); pg-native: one query() (no cursor).
//   --mode=copy       {"cmd":"run","rows":N}: TRUNCATE bench_load, then COPY bench_load FROM STDIN with N rows of
//                     text, written as strings of 1000 rows with backpressure; answers {"rows","ms"} (rows: count(*)
//                     after the COPY; ms: COPY start → finish, the count excluded).
//   --mode=insert [--batch=1000]
//                     {"cmd":"run","rows":N}: TRUNCATE bench_load, then INSERT INTO bench_load VALUES (…),(…)… with
//                     `batch` rows (5 parameters each: int, text, numeric as string, Date, boolean) per statement,
//                     one statement awaited at a time; answers {"rows","ms"} (rows: the counts the server reported).
// COPY text and INSERT values are generated before the ready line (100 chunks / batches, reused in turn), so the
// client CPU of a run is the library's work, not the generator's. The ready line carries the backend's pid
// (`backendPid`) and `how` (what the library does for this workload).
import { LoadTally, childArgs, emit, serveCommands } from '../lib/child.mjs';
import { LatencyHistogram } from '../lib/latency.mjs';

const a = childArgs();
const impl = String(a.impl ?? 'pg');
const mode = String(a.mode ?? 'select');
const callers = Number(a.callers ?? 1);
const batch = Number(a.batch ?? (mode === 'insert' ? 1000 : 5000));
const latencyEvery = Number(a['latency-every'] ?? 1);
const host = '127.0.0.1';
const port = Number(a.port);
const user = String(a.user ?? 'postgres');
const database = String(a.database ?? 'postgres');

/** The 1M-row query of the suite, over generate_series(1, n). */
export const rowsQuery = (n) =>
  `select i, md5(i::text), (i*1.5)::numeric, now() + i * interval '1 second', i % 2 = 0 from generate_series(1, ${Number(n)}) i`;
export const SELECT = 'select $1::int as n';
export const TABLE = 'bench_load';
export const COLUMNS = ['i', 't', 'n', 'ts', 'b'];
const COPY_SQL = `copy ${TABLE} (${COLUMNS.join(', ')}) from stdin`;
const COPY_CHUNK = 1000;
const T0 = Date.UTC(2025, 0, 1);

class Skip extends Error {}

// ---- latency: benches/lib/latency.mjs ------------------------------------------------------------------------
const hist = new LatencyHistogram();

// ---- generated data for COPY and INSERT: the same five columns the row query returns -------------------------
const md5ish = (i) => (i * 2654435761 >>> 0).toString(16).padStart(8, '0').repeat(4);
/** One row as JS values (INSERT parameters). */
const rowValues = (i) => [i, md5ish(i), String(i * 1.5), new Date(T0 + i * 1000), i % 2 === 0];
/** `count` rows from `from` as COPY text. */
function copyText(from, count) {
  let s = '';
  for (let i = from; i < from + count; i++) s += `${i}\t${md5ish(i)}\t${i * 1.5}\t${new Date(T0 + i * 1000).toISOString()}\t${i % 2 === 0 ? 't' : 'f'}\n`;
  return s;
}
/** INSERT text with `n` rows of placeholders. */
function insertText(n) {
  const v = [];
  for (let r = 0; r < n; r++) v.push(`($${r * 5 + 1}, $${r * 5 + 2}, $${r * 5 + 3}, $${r * 5 + 4}, $${r * 5 + 5})`);
  return `insert into ${TABLE} (${COLUMNS.join(', ')}) values ${v.join(', ')}`;
}

// The data is generated once, before the ready line (100 chunks / batches of distinct rows, reused in turn), so a
// run measures the library, not the generator: per run the client only hands prepared strings / values over.
const DISTINCT = 100;
let copyChunks = null;
let insertBatches = null;
function prepareData() {
  if (mode === 'copy') copyChunks = Array.from({ length: DISTINCT }, (_, k) => copyText(k * COPY_CHUNK + 1, COPY_CHUNK));
  if (mode === 'insert')
    insertBatches = Array.from({ length: DISTINCT }, (_, k) => {
      const params = [];
      const rows = [];
      for (let r = 0; r < batch; r++) {
        const v = rowValues(k * batch + r + 1);
        params.push(...v);
        rows.push({ i: v[0], t: v[1], n: v[2], ts: v[3], b: v[4] });
      }
      return { params, rows };
    });
}

/** Writes `n` rows of COPY text to a Writable in chunks of COPY_CHUNK rows, waiting for 'drain'; resolves on 'finish'. */
async function pump(w, n) {
  const finished = new Promise((resolve, reject) => {
    w.once('finish', resolve);
    w.once('error', reject);
  });
  let failed;
  w.once('error', (e) => (failed = e));
  for (let i = 0, k = 0; i < n && !failed; i += COPY_CHUNK, k++) {
    const chunk = n - i >= COPY_CHUNK ? copyChunks[k % DISTINCT] : copyText(i + 1, n - i);
    if (!w.write(chunk)) await new Promise((r) => w.once('drain', r));
  }
  if (failed) throw failed;
  w.end();
  return finished;
}

/** Consumes one batch of result rows: sums column i and checks the types of the last row. */
function consume(rows, st) {
  for (let k = 0; k < rows.length; k++) st.sum += rows[k].i;
  st.rows += rows.length;
  const last = rows[rows.length - 1];
  if (last) st.last = last;
}
// ---- adapters ----------------------------------------------------------------------------------------------
// { select(i) → n, rows(n) → st, copy(n) → count, insert(values, rowsInBatch) → count, pid() → backend pid, close() }
async function makeClient() {
  if (impl === 'iocrate') {
    const core = await import('@iocrate/core');
    if (typeof core.native?.PgWire !== 'function') throw new Skip('@iocrate/postgres: the native postgres binding is not built (native.PgWire missing) — skipped');
    const pgmod = await import('@iocrate/postgres');
    const c = await pgmod.connect({ host, port, user, database });
    // The lead's cursor/COPY APIs land on the connection first; the Client may or may not expose them yet.
    let conn = c;
    const wants = mode === 'rows' ? 'cursor' : mode === 'copy' ? 'copyFrom' : null;
    if (wants && typeof c[wants] !== 'function') {
      try {
        const { PgConnection } = await import(new URL('../../ts/postgres/dist/connection.js', import.meta.url).href);
        if (typeof PgConnection?.prototype?.[wants] === 'function')
          conn = await PgConnection.open({ host, port, user, database, ssl: false, connectTimeout: 10000, int8: 'string' });
      } catch {}
    }
    const pidRes = await conn.query('select pg_backend_pid() as pid');
    if (conn !== c) await c.end();
    const hasCursor = typeof conn.cursor === 'function';
    const hasCopy = typeof conn.copyFrom === 'function';
    return {
      how: {
        select: 'query(text, [i]) (library defaults; queries of one tick share a write)',
        rows: hasCursor ? `cursor(text, [], { batchSize: ${batch} })${conn !== c ? ' (PgConnection: Client has no cursor yet)' : ''}` : 'query(text) — no cursor API yet: every row held in memory',
        copy: hasCopy ? `copyFrom(text) → Writable${conn !== c ? ' (PgConnection)' : ''}` : null,
        insert: `query(text, params) (${batch} rows × 5 parameters)`,
      }[mode],
      pid: pidRes.rows[0].pid,
      select: async (i) => (await conn.query(SELECT, [i])).rows[0].n,
      async rows(n) {
        const st = { rows: 0, sum: 0, last: null };
        if (hasCursor) for await (const rows of conn.cursor(rowsQuery(n), [], { batchSize: batch })) consume(rows, st);
        else consume((await conn.query(rowsQuery(n))).rows, st);
        return st;
      },
      async copy(n) {
        if (!hasCopy) throw new Skip('@iocrate/postgres has no COPY API (copyFrom) yet — skipped');
        const w = await conn.copyFrom(COPY_SQL);
        await pump(w, n);
      },
      count: async () => (await conn.query(`select count(*)::int as n from ${TABLE}`)).rows[0].n,
      insert: async (text, params) => (await conn.query(text, params)).count,
      exec: (text) => conn.query(text),
      close: () => (conn.close ?? conn.end).call(conn),
    };
  }
  if (impl === 'postgres.js') {
    const postgres = (await import('postgres')).default;
    const sql = postgres({ host, port, user, database, max: 1, onnotice: () => {} });
    const [{ pid }] = await sql`select pg_backend_pid() as pid`;
    return {
      how: {
        select: 'sql`select ${i}::int as n` (defaults: prepared statement, pipelined on the one connection)',
        rows: `sql.unsafe(text).cursor(${batch})`,
        copy: 'sql.unsafe(copy).writable()',
        insert: `sql\`insert into ${TABLE} \${sql(rows, columns)}\` (${batch} rows, prepared)`,
      }[mode],
      pid,
      select: async (i) => (await sql`select ${i}::int as n`)[0].n,
      async rows(n) {
        const st = { rows: 0, sum: 0, last: null };
        for await (const rows of sql.unsafe(rowsQuery(n)).cursor(batch)) consume(rows, st);
        return st;
      },
      async copy(n) {
        const w = await sql.unsafe(COPY_SQL).writable();
        await pump(w, n);
      },
      count: async () => (await sql`select count(*)::int as n from bench_load`)[0].n,
      async insert(_text, _params, rows) {
        const r = await sql`insert into bench_load ${sql(rows, ...COLUMNS)}`;
        return r.count;
      },
      exec: (text) => sql.unsafe(text),
      close: () => sql.end({ timeout: 1 }),
    };
  }
  if (impl === 'pg' || impl === 'pg-native') {
    const pg = (await import('pg')).default;
    let Client = pg.Client;
    if (impl === 'pg-native') {
      try {
        Client = pg.native?.Client;
      } catch {}
      if (!Client) throw new Skip('pg-native is not installed (pg.native is null)');
    }
    const c = new Client({ host, port, user, database });
    await c.connect();
    const { rows: pidRows } = await c.query('select pg_backend_pid() as pid');
    let Cursor = null;
    let copyFrom = null;
    if (impl === 'pg') {
      try {
        Cursor = (await import('pg-cursor')).default;
      } catch {}
      try {
        ({ from: copyFrom } = (await import('pg-copy-streams')).default);
      } catch {}
    }
    return {
      how: {
        select: `client.query(text, [i]) (${impl === 'pg' ? 'queued: one query on the wire at a time' : 'libpq, one query at a time'})`,
        rows: Cursor ? `pg-cursor read(${batch})` : 'client.query(text) (no cursor: every row held in memory)',
        copy: copyFrom ? 'pg-copy-streams from(copy)' : null,
        insert: `client.query(text, params) (${batch} rows × 5 parameters)`,
      }[mode],
      pid: pidRows[0].pid,
      select: async (i) => (await c.query(SELECT, [i])).rows[0].n,
      async rows(n) {
        const st = { rows: 0, sum: 0, last: null };
        if (Cursor) {
          const cur = c.query(new Cursor(rowsQuery(n)));
          for (;;) {
            const rows = await cur.read(batch);
            if (!rows.length) break;
            consume(rows, st);
          }
          await cur.close();
        } else consume((await c.query(rowsQuery(n))).rows, st);
        return st;
      },
      async copy(n) {
        if (!copyFrom) throw new Skip(`${impl}: pg-copy-streams is not installed`);
        const w = c.query(copyFrom(COPY_SQL));
        await pump(w, n);
      },
      count: async () => (await c.query('select count(*)::int as n from bench_load')).rows[0].n,
      insert: async (text, params) => (await c.query(text, params)).rowCount,
      exec: (text) => c.query(text),
      close: () => c.end(),
    };
  }
  throw new Error(`unknown impl ${impl}`);
}

const tally = new LoadTally();

let seq = 0;
async function caller(c, id) {
  let i = id * 1000;
  while (!tally.stopping) {
    const timed = ++seq % latencyEvery === 0;
    const t0 = timed ? performance.now() : 0;
    try {
      const n = await c.select(i);
      if (timed) hist.record(performance.now() - t0);
      if (n === i) tally.ops++;
      else tally.fail(`select ${i} answered ${JSON.stringify(n)}`);
    } catch (err) {
      tally.fail(err);
    }
    i = (i + 1) % 1_000_000_000;
  }
}

/** One measured unit of the rows/copy/insert modes. */
async function runOnce(c, n) {
  const t0 = performance.now();
  if (mode === 'rows') {
    const st = await c.rows(n);
    const ms = performance.now() - t0;
    if (st.rows !== n) throw new Error(`got ${st.rows} rows, want ${n}`);
    if (st.sum !== (n * (n + 1)) / 2) throw new Error(`sum of i is ${st.sum}, want ${(n * (n + 1)) / 2}`);
    // The two unnamed columns (the timestamp and the boolean) are both "?column?": in an object the boolean wins.
    const r = st.last;
    if (!(r && r.i === n && typeof r.md5 === 'string' && r.md5.length === 32 && Number(r.numeric) === n * 1.5 && r['?column?'] === (n % 2 === 0)))
      throw new Error(`unexpected last row ${JSON.stringify(r)}`);
    return { rows: st.rows, ms, sum: st.sum };
  }
  await c.exec(`truncate ${TABLE}`);
  if (mode === 'copy') {
    const t1 = performance.now();
    await c.copy(n);
    const ms = performance.now() - t1;
    const count = await c.count();
    if (count !== n) throw new Error(`table has ${count} rows after COPY, want ${n}`);
    return { rows: count, ms };
  }
  // insert
  const text = insertText(batch);
  const t1 = performance.now();
  let count = 0;
  for (let i = 0, k = 0; i < n; i += batch, k++) {
    let b = insertBatches[k % DISTINCT];
    if (n - i < batch) {
      const params = [];
      const rows = [];
      for (let r = i + 1; r <= n; r++) {
        const v = rowValues(r);
        params.push(...v);
        rows.push({ i: v[0], t: v[1], n: v[2], ts: v[3], b: v[4] });
      }
      b = { params, rows };
    }
    count += Number(await c.insert(b.rows.length === batch ? text : insertText(b.rows.length), b.params, b.rows));
  }
  const ms = performance.now() - t1;
  if (count !== n) throw new Error(`inserted ${count} rows, want ${n}`);
  return { rows: count, ms };
}

try {
  if (!['select', 'rows', 'copy', 'insert'].includes(mode)) throw new Error(`unknown mode ${mode}`);
  if (!(callers >= 1) || !(batch >= 1) || !(latencyEvery >= 1) || !(port > 0)) throw new Error('--port, --callers, --batch and --latency-every must be >= 1');
  prepareData();
  const c = await makeClient();
  if (mode === 'copy' && c.how == null) throw new Skip(`${impl}: no COPY API${impl === 'iocrate' ? ' (copyFrom) yet' : ''} — skipped`);
  if (mode === 'select') {
    const n = await c.select(42);
    if (n !== 42) throw new Error(`select 42 answered ${JSON.stringify(n)}`);
    const all = Promise.all(Array.from({ length: callers }, (_, id) => caller(c, id)));
    tally.serve(hist, all);
  } else {
    serveCommands({ run: (cmd) => runOnce(c, Number(cmd.rows)), close: async () => (await c.close(), { closed: true }) });
  }
  emit({ ready: true, impl, mode, callers, batch, backendPid: c.pid, how: c.how });
} catch (err) {
  const msg = err instanceof Skip ? err.message : `${impl} client: ${String(err?.message ?? err).split('\n')[0]}`;
  emit({ ready: false, error: msg });
  process.exit(0);
}
