// query_duckdb_check.mjs — `stockpipe query` must return what DuckDB (npm @duckdb/node-api)
// returns for the same question over the same files: a matrix of queries (filters on every
// column type, nulls, quoting, empty results, UTC date boundaries, limits, projections,
// key order) over a data directory written by tests/tools/c/query_gen.c, and the same
// matrix over copies of the data stored as CSV and as JSON Lines (read back by the query
// engine).  Also: `stockpipe export` files (csv, parquet, json) read back by DuckDB equal
// its answer, and `stockpipe summary --json` matches the files and DuckDB's aggregates.
// Run by tests/integration/test_query_duckdb.sh.
//
// Usage: node query_duckdb_check.mjs STOCKPIPE_BIN PARQUET_DIR CSV_DIR JSONL_DIR WORK_DIR
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { lit, openDuckDB } from './duckdb_lib.mjs';

const [bin, pqDir, csvDir, jsonlDir, work] = process.argv.slice(2);
const { con, q } = await openDuckDB();

// SPEC §1: tier, key and date column of each dataset (the public contract).
const datasets = {
  financial_data: { tier: 'raw', key: ['ticker', 'quote_time'], date: 'quote_time' },
  stock_movements: { tier: 'raw', key: ['ticker', 'interval', 'bar_time'], date: 'bar_time' },
  news: { tier: 'raw', key: ['article_id', 'ticker'], date: 'published_at' },
  macroeconomic: { tier: 'context', key: ['provider', 'series_id', 'observation_date'], date: 'observation_date' },
  policy: { tier: 'context', key: ['event_id'], date: 'event_time' },
};

for (const [name, d] of Object.entries(datasets)) {
  const glob = join(pqDir, d.tier, name, '**', '*.parquet');
  await con.run(`CREATE VIEW ${name} AS SELECT * FROM read_parquet(${lit(glob)}, hive_partitioning=false)`);
  d.columns = (await q(`DESCRIBE ${name}`)).map((r) => ({ name: r.column_name, type: kindOf(r.column_type) }));
}

function kindOf(t) {
  if (t.startsWith('TIMESTAMP')) return 'ts';
  if (t === 'DATE') return 'date';
  if (t === 'DOUBLE' || t === 'FLOAT') return 'double';
  if (t === 'BIGINT' || t === 'INTEGER') return 'int';
  if (t === 'BOOLEAN') return 'bool';
  return 'str';
}

// ISO 8601 UTC text → microseconds since the epoch (BigInt), as a decimal string.
function isoToUs(s) {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z$/.exec(s);
  if (!m) return 'bad-timestamp:' + s;
  const ms = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}Z`);
  return (BigInt(ms) * 1000n + BigInt((m[5] || '').padEnd(6, '0') || '0')).toString();
}
const dayUs = (day) => BigInt(Date.parse(day + 'T00:00:00Z')) * 1000n;
const nextDay = (day) => new Date(Date.parse(day + 'T00:00:00Z') + 86400000).toISOString().slice(0, 10);

// Canonical text of a cell: from our text output, or from DuckDB's typed value.
function canonText(kind, text) {
  if (text === null) return null;
  switch (kind) {
    case 'ts': return isoToUs(text);
    case 'double': return String(text === 'inf' ? Infinity : text === '-inf' ? -Infinity : Number(text));
    default: return text;
  }
}
function canonDuck(kind, v) {
  if (v === null || v === undefined) return null;
  if (kind === 'double') return String(Number(v));
  return String(v);
}
function selectList(cols) {
  return cols.map((c) => {
    const n = '"' + c.name + '"';
    if (c.type === 'ts') return `epoch_us(${n})::VARCHAR AS ${n}`;
    if (c.type === 'date' || c.type === 'int') return `${n}::VARCHAR AS ${n}`;
    return n;
  }).join(', ');
}

// RFC 4180 CSV → { header, rows } with null for empty unquoted fields.
function parseCsv(text) {
  const rows = [];
  let row = [], i = 0, field = '', quoted = false, any = false;
  const endField = () => { row.push(!quoted && field === '' ? null : field); field = ''; quoted = false; };
  while (i < text.length) {
    const c = text[i];
    if (c === '"' && field === '' && !quoted) {
      quoted = true; i++;
      for (;;) {
        const j = text.indexOf('"', i);
        if (j < 0) throw new Error('unterminated quote');
        field += text.slice(i, j);
        if (text[j + 1] === '"') { field += '"'; i = j + 2; continue; }
        i = j + 1; break;
      }
      any = true;
      continue;
    }
    if (c === ',') { endField(); i++; any = true; continue; }
    if (c === '\n') { endField(); rows.push(row); row = []; i++; any = false; continue; }
    if (c === '\r' && text[i + 1] === '\n') { i++; continue; }
    field += c; i++; any = true;
  }
  if (any || field !== '') { endField(); rows.push(row); }
  const header = rows.shift() || [];
  return { header, rows };
}

let failures = 0, checks = 0;
function fail(msg) {
  failures++;
  if (failures <= 25) console.error('FAIL ' + msg);
}

// Build the CLI arguments and DuckDB's SQL of one query spec.
function build(spec) {
  const d = datasets[spec.ds];
  const args = ['query', spec.ds, '--format', 'csv'];
  const conds = [];
  if (spec.tickers) {
    args.push('--tickers', spec.tickers.join(','));
    conds.push(`ticker IN (${spec.tickers.map(lit).join(',')})`);
  }
  const dateKind = d.columns.find((c) => c.name === d.date).type;
  if (spec.from) {
    args.push('--from', spec.from);
    conds.push(dateKind === 'ts' ? `epoch_us(${d.date}) >= ${dayUs(spec.from)}` : `${d.date} >= DATE ${lit(spec.from)}`);
  }
  if (spec.to) {
    args.push('--to', spec.to);
    conds.push(dateKind === 'ts' ? `epoch_us(${d.date}) < ${dayUs(nextDay(spec.to))}` : `${d.date} <= DATE ${lit(spec.to)}`);
  }
  for (const [col, op, value, quote] of spec.where || []) {
    const kind = d.columns.find((c) => c.name === col).type;
    const text = quote ? "'" + value.replaceAll("'", "''") + "'" : value;
    args.push('--where', `${col}${op}${text}`);
    const sqlOp = op === '!=' ? '<>' : op;
    if (kind === 'ts') conds.push(`epoch_us("${col}") ${sqlOp} ${isoToUs(value)}`);
    else if (kind === 'date') conds.push(`"${col}" ${sqlOp} DATE ${lit(value)}`);
    else if (kind === 'str') conds.push(`"${col}" ${sqlOp} ${lit(value)}`);
    else conds.push(`"${col}" ${sqlOp} ${value}`);
  }
  let cols = d.columns;
  if (spec.columns) {
    args.push('--columns', spec.columns.join(','));
    cols = d.columns.filter((c) => spec.columns.includes(c.name));
  }
  if (spec.limit !== undefined) args.push('--limit', String(spec.limit));
  let sql = `SELECT ${selectList(cols)} FROM ${spec.ds}`;
  if (conds.length) sql += ' WHERE ' + conds.join(' AND ');
  sql += ' ORDER BY ' + d.key.map((k) => `"${k}"`).join(', ');
  if (spec.limit !== undefined) sql += ` LIMIT ${spec.limit}`;
  return { args, sql, cols };
}

function compare(label, cols, header, ours, duck, canon = canonText) {
  checks++;
  const names = cols.map((c) => c.name);
  if (JSON.stringify(header) !== JSON.stringify(names)) return fail(`${label}: header ${header} != ${names}`);
  if (ours.length !== duck.length) return fail(`${label}: ${ours.length} rows, DuckDB ${duck.length}`);
  for (let r = 0; r < ours.length; r++)
    for (let c = 0; c < cols.length; c++) {
      const a = canon(cols[c].type, ours[r][c]), b = canonDuck(cols[c].type, duck[r][cols[c].name]);
      if (a !== b) return fail(`${label}: row ${r} ${cols[c].name}: ours ${JSON.stringify(a)} DuckDB ${JSON.stringify(b)}`);
    }
}

const matrix = [
  // stock_movements: every filter shape
  { ds: 'stock_movements' },
  { ds: 'stock_movements', tickers: ['AAPL', 'MSFT'] },
  { ds: 'stock_movements', tickers: ['BRK-B'], from: '2026-03-02', to: '2026-03-02' },
  { ds: 'stock_movements', from: '2026-03-03' },
  { ds: 'stock_movements', to: '2026-03-02' },
  { ds: 'stock_movements', from: '2026-03-04', to: '2026-03-04' }, // the missing day: empty
  { ds: 'stock_movements', from: '2026-03-06', to: '2026-03-05' }, // from > to: empty
  { ds: 'stock_movements', from: '2026-03-09', to: '2026-03-20' }, // last day, past the end
  { ds: 'stock_movements', where: [['close', '>', '150']] },
  { ds: 'stock_movements', where: [['rsi_14', '<=', '30']] },
  { ds: 'stock_movements', where: [['rsi_14', '!=', '50.5']] },
  { ds: 'stock_movements', where: [['sma_20', '=', '12.5']] },
  { ds: 'stock_movements', where: [['volume', '>=', '9007199254740992']] },
  { ds: 'stock_movements', where: [['volume', '<', '1000000000000']] },
  { ds: 'stock_movements', where: [['bar_time', '>=', '2026-03-02T23:00:00Z'], ['bar_time', '<', '2026-03-03T01:00:00Z']] },
  { ds: 'stock_movements', where: [['bar_time', '=', '2026-03-05T14:30:00Z']] },
  { ds: 'stock_movements', where: [['interval', '=', '1d', true]] },
  { ds: 'stock_movements', where: [['quality_flags', '=', 'price_jump,volume_spike', true]] },
  { ds: 'stock_movements', where: [['ticker', '<', 'B']] },
  { ds: 'stock_movements', where: [['ticker', '>=', 'NVDA']], columns: ['ticker', 'bar_time', 'close'] },
  { ds: 'stock_movements', where: [['ticker', '=', 'ZZZZ']] },
  { ds: 'stock_movements', where: [['collected_at', '>', '2026-03-07T12:00:00Z']] },
  { ds: 'stock_movements', limit: 10 },
  { ds: 'stock_movements', limit: 0 },
  { ds: 'stock_movements', tickers: ['NVDA'], limit: 5, columns: ['ticker', 'bar_time', 'close'] },
  { ds: 'stock_movements', columns: ['close', 'ticker'] },
  { ds: 'stock_movements', columns: ['rsi_14'], where: [['rsi_14', '>', '70']], from: '2026-03-02', to: '2026-03-06' },
  // financial_data ("dt=YYYY-MM-DD" folders)
  { ds: 'financial_data' },
  { ds: 'financial_data', tickers: ['AAPL'], from: '2026-03-02', to: '2026-03-03' },
  { ds: 'financial_data', where: [['market_cap', '>', '10000000000000']] },
  { ds: 'financial_data', where: [['currency', '=', 'USD'], ['exchange', '!=', 'plain', true]] },
  { ds: 'financial_data', where: [['eps', '<', '0']], columns: ['ticker', 'quote_time', 'eps'] },
  { ds: 'financial_data', where: [['quote_time', '<', '2026-03-01T16:00:00Z']] },
  // news ("YYYY/MM/DD" folders): strings that need quoting
  { ds: 'news' },
  { ds: 'news', where: [['sentiment_score', '>=', '0.5']] },
  { ds: 'news', where: [['headline', '=', 'with, comma', true]] },
  { ds: 'news', where: [['headline', '=', "O'Brien", true]] },
  { ds: 'news', where: [['headline', '=', '', true]] },
  { ds: 'news', where: [['headline', '=', 'multi\nline', true]] },
  { ds: 'news', where: [['summary', '!=', 'plain']] },
  { ds: 'news', where: [['publisher', '=', 'ünïcödé ✓', true]] },
  { ds: 'news', tickers: ['META', 'TSLA'], from: '2026-03-02', to: '2026-03-03', limit: 7 },
  // macroeconomic (a DATE date column)
  { ds: 'macroeconomic' },
  { ds: 'macroeconomic', where: [['observation_date', '>=', '2026-03-05']] },
  { ds: 'macroeconomic', from: '2026-03-03', to: '2026-03-04' },
  { ds: 'macroeconomic', where: [['value', '<', '100']] },
  { ds: 'macroeconomic', where: [['indicator', '=', 'interest_rate']] },
  // policy
  { ds: 'policy' },
  { ds: 'policy', where: [['event_type', '=', 'fomc_meeting']] },
  { ds: 'policy', where: [['value', '>', '100']], limit: 3 },
  { ds: 'policy', where: [['event_time', '<', '2026-03-03T12:00:00Z']] },
];

function runOurs(dataDir, args) {
  const r = spawnSync(bin, [...args, '--data-dir', dataDir], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return r;
}

let queries = 0, nonEmpty = 0;
for (const spec of matrix) {
  const { args, sql, cols } = build(spec);
  const duck = await q(sql);
  queries++;
  if (duck.length) nonEmpty++;
  for (const [fmt, dir] of [['parquet', pqDir], ['csv', csvDir], ['jsonl', jsonlDir]]) {
    const label = `[${fmt}] stockpipe ${args.slice(1).map((a) => JSON.stringify(a)).join(' ')}`;
    const r = runOurs(dir, args);
    if (r.status !== 0) { fail(`${label}: exit ${r.status}: ${r.stderr}`); continue; }
    const { header, rows } = parseCsv(r.stdout);
    compare(label, cols, header, rows, duck);
  }
}

// Exports read back by DuckDB.
const exportSpec = { ds: 'stock_movements', tickers: ['AAPL', 'BRK-B', 'TSLA'], from: '2026-03-02', where: [['close', '>', '120']] };
{
  const { args, sql, cols } = build(exportSpec);
  const duck = await q(sql);
  const filters = args.slice(4); // after: query DS --format csv
  for (const fmt of ['csv', 'parquet', 'json']) {
    const file = join(work, 'export.' + fmt);
    const r = runOurs(pqDir, ['export', 'stock_movements', file, '--format', fmt, ...filters]);
    if (r.status !== 0) { fail(`export ${fmt}: exit ${r.status}: ${r.stderr}`); continue; }
    let got;
    if (fmt === 'parquet') {
      got = await q(`SELECT ${selectList(cols)} FROM read_parquet(${lit(file)})`);
      const rows = got.map((row) => cols.map((c) => row[c.name]));
      compare('export parquet', cols, cols.map((c) => c.name), rows, duck, canonDuck);
      continue;
    }
    if (fmt === 'csv') {
      const typesMap = '{' + cols.map((c) => `'${c.name}': 'VARCHAR'`).join(', ') + '}';
      got = await q(`SELECT * FROM read_csv(${lit(file)}, header=true, columns=${typesMap}, allow_quoted_nulls=false, quote='"', escape='"')`);
    } else {
      const typesMap = '{' + cols.map((c) => `'${c.name}': '${c.type === 'double' ? 'DOUBLE' : c.type === 'int' ? 'BIGINT' : 'VARCHAR'}'`).join(', ') + '}';
      got = await q(`SELECT * FROM read_json(${lit(file)}, format='newline_delimited', columns=${typesMap})`);
    }
    const rows = got.map((row) => cols.map((c) => (row[c.name] === null ? null : String(row[c.name]))));
    compare(`export ${fmt}`, cols, cols.map((c) => c.name), rows, duck);
  }
}

// Summary: files and bytes from the file system, rows / dates / collection from DuckDB.
{
  const r = runOurs(pqDir, ['summary', '--json']);
  if (r.status !== 0) fail(`summary: exit ${r.status}: ${r.stderr}`);
  else {
    const s = JSON.parse(r.stdout);
    let totalBytes = 0;
    for (const [name, d] of Object.entries(datasets)) {
      checks++;
      let files = 0, bytes = 0;
      const walk = (p) => {
        for (const e of readdirSync(p, { withFileTypes: true })) {
          if (e.isDirectory()) walk(join(p, e.name));
          else if (e.name.endsWith('.parquet')) { files++; bytes += statSync(join(p, e.name)).size; }
        }
      };
      walk(join(pqDir, d.tier, name));
      totalBytes += bytes;
      const dateKind = d.columns.find((c) => c.name === d.date).type;
      const dexpr = dateKind === 'ts' ? `CAST(CAST(epoch_us(${d.date}) // 86400000000 AS INTEGER) AS VARCHAR)` : `CAST(date_diff('day', DATE '1970-01-01', ${d.date}) AS VARCHAR)`;
      const [agg] = await q(`SELECT count(*)::VARCHAR AS n, min(${dexpr}::INTEGER)::VARCHAR AS lo, max(${dexpr}::INTEGER)::VARCHAR AS hi, max(epoch_us(collected_at))::VARCHAR AS coll FROM ${name}`);
      const days = new Set((await q(`SELECT DISTINCT ${dexpr} AS d FROM ${name}`)).map((x) => Number(x.d)));
      let missing = 0;
      for (let day = Number(agg.lo); day <= Number(agg.hi); day++) {
        const wd = new Date(day * 86400000).getUTCDay();
        if (wd !== 0 && wd !== 6 && !days.has(day)) missing++; // no NYSE holiday in the generated range
      }
      const got = s.datasets[name];
      const dayText = (n) => new Date(Number(n) * 86400000).toISOString().slice(0, 10);
      const want = { files, rows: Number(agg.n), bytes, first_date: dayText(agg.lo), last_date: dayText(agg.hi), last_collected: agg.coll, trading_days_missing: missing };
      const have = { ...got, last_collected: isoToUs(got.last_collected) };
      for (const k of Object.keys(want))
        if (String(want[k]) !== String(have[k])) fail(`summary ${name}.${k}: ${have[k]} expected ${want[k]}`);
    }
    checks++;
    if (s.total_bytes !== totalBytes) fail(`summary total_bytes ${s.total_bytes} expected ${totalBytes}`);
    if (s.datasets.stock_movements.trading_days_missing !== 1) fail('summary: stock_movements should miss 2026-03-04');
  }
}

console.log(`query_duckdb_check: ${queries} queries (${nonEmpty} non-empty) x 3 storage formats, 3 exports, summary: ${checks} checks, ${failures} failures`);
process.exit(failures ? 1 : 0);
