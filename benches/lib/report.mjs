// Pure helpers: ratios, targets, table formatting, machine info, and the JSON report schema.
import os from 'node:os';
import { readFileSync } from 'node:fs';

/**
 * Fills `ratio` (and `hit` when the result has a target) on every row.
 * better "higher": ratio = rate / baseline rate. better "lower" (memory, latency): ratio = baseline / rate.
 * Either way a ratio above 1 means the row beats the baseline peer.
 */
export function computeRatios(result) {
  const base = result.rows.find((r) => r.impl === result.baseline);
  const baseRate = base && Number.isFinite(base.rate) && base.rate > 0 ? base.rate : null;
  for (const row of result.rows) {
    if (baseRate === null || !Number.isFinite(row.rate) || row.rate <= 0) row.ratio = null;
    else row.ratio = round(result.better === 'lower' ? baseRate / row.rate : row.rate / baseRate, 3);
    if (result.target != null && row.impl !== result.baseline) row.hit = row.ratio == null ? null : row.ratio >= result.target;
  }
  // Pairwise targets ({ impl, vs, min }): a row against a peer other than (or besides) the baseline.
  for (const t of result.targets ?? []) {
    const row = result.rows.find((r) => r.impl === t.impl);
    const peer = result.rows.find((r) => r.impl === t.vs);
    const ok = (r) => r && Number.isFinite(r.rate) && r.rate > 0;
    t.ratio = ok(row) && ok(peer) ? round(result.better === 'lower' ? peer.rate / row.rate : row.rate / peer.rate, 3) : null;
    t.hit = t.ratio == null ? null : t.ratio >= t.min;
  }
  return result;
}

/** The pairwise target of `row` against the baseline, if any (shown in the ratio column). */
function baselineTarget(row, result) {
  return (result.targets ?? []).find((t) => t.impl === row.impl && t.vs === result.baseline);
}

export function round(n, digits = 2) {
  if (n == null || !Number.isFinite(n)) return null;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** 1234567 → "1.23M", 950 → "950", 12.345 → "12.3". */
export function formatNumber(n) {
  if (n == null || !Number.isFinite(n)) return '-';
  const abs = Math.abs(n);
  if (abs >= 1e9) return (n / 1e9).toFixed(2) + 'G';
  if (abs >= 1e6) return (n / 1e6).toFixed(2) + 'M';
  if (abs >= 1e4) return (n / 1e3).toFixed(1) + 'k';
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

export function formatRatio(row, result) {
  if (row.error) return 'unavailable';
  if (row.impl === result.baseline) return 'baseline';
  if (row.ratio == null) return '-';
  let s = row.ratio.toFixed(2) + 'x';
  if (result.target != null) s += ` ${row.hit ? 'hit' : 'MISS'} (>=${result.target}x)`;
  else {
    const t = baselineTarget(row, result);
    if (t) s += ` ${t.hit ? 'hit' : 'MISS'} (>=${t.min}x)`;
  }
  return s;
}

export const TABLE_COLUMNS = ['name', 'impl', 'rate', 'unit', 'server CPU µs/op', 'RSS MB', 'gen CPU', 'ratio vs peer'];
/** With latency figures (http suite): a `p99 ms` column before the ratio. */
export const LATENCY_COLUMNS = ['name', 'impl', 'rate', 'unit', 'server CPU µs/op', 'RSS MB', 'gen CPU', 'p99 ms', 'ratio vs peer'];
const RIGHT_ALIGNED = new Set(['rate', 'server CPU µs/op', 'RSS MB', 'gen CPU', 'p99 ms']);

/** Whether any row carries a p99 latency (then the table gets the `p99 ms` column). */
export const hasLatency = (results) => results.some((r) => r.rows.some((row) => row.p99Ms != null));

/**
 * Rows of cells (strings) for every result row; unavailable rows carry their reason. With `latency`, a
 * p99 cell comes before the ratio. A result with `cpuOf: 'client'` measures the client's CPU (marked).
 */
export function tableCells(results, latency = false) {
  const out = [];
  for (const res of results) {
    for (const row of res.rows) {
      const cells = [
        res.name,
        row.impl,
        row.error ? 'unavailable' : formatNumber(row.rate),
        res.unit,
        row.cpuPerOpUs == null ? '-' : formatNumber(row.cpuPerOpUs) + (res.opUnit ? `/${res.opUnit}` : '') + (res.cpuOf === 'client' ? ' (client)' : ''),
        row.rssMB == null ? '-' : row.rssMB.toFixed(1),
        row.genCpuPct == null ? '-' : `${Math.round(row.genCpuPct)}%${row.genCpuPct >= 90 ? '!' : ''}`,
      ];
      if (latency) cells.push(row.p99Ms == null ? '-' : formatNumber(row.p99Ms));
      cells.push(row.error ? `(${row.error})` : formatRatio(row, res));
      out.push(cells);
    }
  }
  return out;
}

/** A plain-text table with aligned columns (a `p99 ms` column when rows carry latency). */
export function formatTable(results, columns = hasLatency(results) ? LATENCY_COLUMNS : TABLE_COLUMNS) {
  const rows = tableCells(results, columns.includes('p99 ms'));
  const width = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (i === columns.length - 1 ? 0 : r[i].length))));
  const line = (cells) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : RIGHT_ALIGNED.has(columns[i]) ? c.padStart(width[i]) : c.padEnd(width[i])))
      .join(' | ')
      .trimEnd();
  const sep = width.map((w, i) => '-'.repeat(i === columns.length - 1 ? Math.max(w, 13) : w)).join('-|-');
  return [line(columns), sep, ...rows.map(line)].join('\n');
}

/** The target lines (hit/miss) for the summary under the table. */
export function targetSummary(results) {
  const lines = [];
  for (const res of results) {
    for (const t of res.targets ?? []) {
      const row = res.rows.find((r) => r.impl === t.impl);
      const peer = res.rows.find((r) => r.impl === t.vs);
      const verdict = row?.error || peer?.error ? `n/a (${row?.error ? t.impl : t.vs} unavailable)` : t.hit == null ? 'n/a' : t.hit ? 'hit' : 'MISS';
      const ratio = t.ratio == null ? '-' : t.ratio.toFixed(2) + 'x';
      lines.push(`${verdict.padEnd(17)} ${res.name} — ${t.impl} ${ratio} vs ${t.vs} (target >= ${t.min}x, ${res.better} is better)`);
    }
    if (res.target == null) continue;
    for (const row of res.rows) {
      if (row.impl === res.baseline) continue;
      const verdict = row.error ? 'n/a (unavailable)' : row.hit == null ? 'n/a' : row.hit ? 'hit' : 'MISS';
      const ratio = row.ratio == null ? '-' : row.ratio.toFixed(2) + 'x';
      lines.push(`${verdict.padEnd(17)} ${res.name} — ${row.impl} ${ratio} vs ${res.baseline} (target >= ${res.target}x, ${res.better} is better)`);
    }
  }
  return lines.join('\n');
}

export function machineInfo() {
  const cpus = os.cpus();
  let distro = `${os.type()} ${os.release()}`;
  try {
    const m = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) distro = m[1];
  } catch {}
  return { cpus: cpus.length, model: cpus[0]?.model?.trim() ?? 'unknown', node: process.version, os: distro, kernel: os.release() };
}

export function buildReport({ module, pinning, results, machine = machineInfo(), date = new Date() }) {
  return { module, date: date.toISOString(), machine, pinning, results };
}

/** Checks a report against the documented schema; returns a list of problems (empty = valid). */
export function validateReport(rep) {
  const errs = [];
  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
  const numOrNull = (v) => v === null || isNum(v);
  if (!rep || typeof rep !== 'object') return ['report is not an object'];
  if (typeof rep.module !== 'string' || !rep.module) errs.push('module must be a non-empty string');
  if (typeof rep.date !== 'string' || Number.isNaN(Date.parse(rep.date))) errs.push('date must be an ISO string');
  const m = rep.machine;
  if (!m || !isNum(m.cpus) || typeof m.model !== 'string' || typeof m.node !== 'string' || typeof m.os !== 'string' || typeof m.kernel !== 'string')
    errs.push('machine must have cpus (number), model, node, os, kernel (strings)');
  if (rep.pinning !== 'unpinned' && !/^server=cpu\d+ client=cpu\d+$/.test(rep.pinning ?? '')) errs.push(`bad pinning "${rep.pinning}"`);
  if (!Array.isArray(rep.results)) return [...errs, 'results must be an array'];
  rep.results.forEach((res, i) => {
    const at = `results[${i}]`;
    if (typeof res.name !== 'string' || typeof res.unit !== 'string') errs.push(`${at}: name and unit must be strings`);
    if (res.better !== 'higher' && res.better !== 'lower') errs.push(`${at}: better must be "higher" or "lower"`);
    if (res.targets !== undefined) {
      if (!Array.isArray(res.targets)) errs.push(`${at}: targets must be an array`);
      else
        res.targets.forEach((t, k) => {
          if (typeof t?.impl !== 'string' || typeof t?.vs !== 'string' || !isNum(t?.min)) errs.push(`${at}.targets[${k}]: needs impl, vs (strings) and min (number)`);
        });
    }
    if (!Array.isArray(res.rows) || res.rows.length === 0) return errs.push(`${at}: rows must be a non-empty array`);
    res.rows.forEach((row, j) => {
      const rat = `${at}.rows[${j}]`;
      if (typeof row.impl !== 'string') errs.push(`${rat}: impl must be a string`);
      for (const k of ['rate', 'cpuPerOpUs', 'rssMB', 'ratio']) if (!(k in row) || !numOrNull(row[k])) errs.push(`${rat}: ${k} must be a number or null`);
      if (row.rate === null && typeof row.error !== 'string') errs.push(`${rat}: a row without rate needs an error`);
    });
  });
  return errs;
}
