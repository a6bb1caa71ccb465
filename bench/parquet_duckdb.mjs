// parquet_duckdb.mjs — the DuckDB side of the Parquet benchmark and its ratio table.
// Loads the rows stockpipe wrote (ours_zstd.parquet) into DuckDB (npm @duckdb/node-api,
// from tests/tools/node_modules), times `COPY ... TO` with snappy and zstd at threads=1
// and at DuckDB's default, times full scans (min() of every column, so every value is
// decoded) of both engines' files, and prints the table with stockpipe/DuckDB ratios.
//
// Usage: node parquet_duckdb.mjs --write-only DIR            (prints DuckDB's write lines)
//        node parquet_duckdb.mjs DIR OURS.jsonl DUCK.jsonl OUR_SCANS.jsonl
//   OURS.jsonl: parquet_bench's lines; DUCK.jsonl: the --write-only output; OUR_SCANS.jsonl:
//   `parquet_bench --scan` of DuckDB's threads=1 files.
import { readFileSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { DuckDBInstance } = await import(join(here, '../tests/tools/node_modules/@duckdb/node-api/lib/index.js'));
const args = process.argv.slice(2);
const writeOnly = args[0] === '--write-only';
if (writeOnly) args.shift();
const dir = args[0];
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
const lit = (s) => "'" + s.replaceAll("'", "''") + "'";
// CPU seconds of this process (DuckDB's threads included), like parquet_bench measures; at
// threads=1 this is DuckDB's own work, unaffected by other load on the host.  Wall seconds
// are kept for DuckDB's default thread count, where parallelism is the point.
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
let lastWall = 0;
const time = async (sql) => {
  const c0 = cpu(), t0 = performance.now();
  await con.run(sql);
  lastWall = (performance.now() - t0) / 1000;
  return cpu() - c0;
};
const defaultThreads = Number((await (await con.runAndReadAll("SELECT current_setting('threads') AS t")).getRowObjectsJson())[0].t);

if (writeOnly) {
  await con.run(`CREATE TABLE bars AS SELECT * FROM read_parquet(${lit(join(dir, 'ours_zstd.parquet'))})`);
  const out = [];
  for (const threads of [1, defaultThreads])
    for (const codec of ['snappy', 'zstd']) {
      await con.run(`SET threads = ${threads}`);
      const f = join(dir, `duck_${codec}_t${threads}.parquet`);
      const s = await time(`COPY bars TO ${lit(f)} (FORMAT parquet, COMPRESSION ${codec})`);
      out.push({ engine: 'duckdb', codec, threads, write_s: threads === 1 ? s : lastWall, bytes: statSync(f).size, file: f });
    }
  for (const o of out) console.log(JSON.stringify(o));
  process.exit(0);
}

const ours = readFileSync(args[1], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const duckWrites = readFileSync(args[2], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const ourScansOfDuck = readFileSync(args[3], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const rows = ours[0].rows;
const cols = (await (await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${lit(ours[0].file)})`)).getRowObjectsJson()).map((r) => r.column_name);
const scanSql = (f) => `SELECT ${cols.map((c) => `min("${c}")`).join(', ')} FROM read_parquet(${lit(f)})`;
async function duckScan(f, threads) {
  await con.run(`SET threads = ${threads}`);
  await con.run(scanSql(f)); // warm the page cache like our scan had it warm
  const s = await time(scanSql(f));
  return threads === 1 ? s : lastWall;
}

const fmtRate = (s) => (rows / s / 1e6).toFixed(2) + ' M/s';
const fmtMB = (b) => (b / 1e6).toFixed(1) + ' MB';
const lines = [];
const row = (what, ourVal, d1, dN, ratio, target) => lines.push([what, ourVal, d1, dN, ratio, target]);
for (const codec of ['snappy', 'zstd']) {
  const o = ours.find((x) => x.name === `ours_${codec}`);
  const d1 = duckWrites.find((x) => x.codec === codec && x.threads === 1);
  const dN = duckWrites.find((x) => x.codec === codec && x.threads === defaultThreads);
  row(`write ${codec} (rows/s)`, fmtRate(o.write_s), fmtRate(d1.write_s), fmtRate(dN.write_s), (d1.write_s / o.write_s).toFixed(2) + 'x', '>= 1.0x t=1');
}
for (const codec of ['snappy', 'zstd']) {
  const o = ours.find((x) => x.name === `ours_${codec}`);
  const d1 = duckWrites.find((x) => x.codec === codec && x.threads === 1);
  const dN = duckWrites.find((x) => x.codec === codec && x.threads === defaultThreads);
  row(`file size ${codec}`, fmtMB(o.bytes), fmtMB(d1.bytes), fmtMB(dN.bytes), (o.bytes / d1.bytes).toFixed(3) + 'x', '<= 1.1x');
}
for (const codec of ['snappy', 'zstd']) {
  const o = ours.find((x) => x.name === `ours_${codec}`);
  const duckFile = duckWrites.find((x) => x.codec === codec && x.threads === 1).file;
  const d1 = await duckScan(duckFile, 1), dN = await duckScan(duckFile, defaultThreads);
  row(`scan own file ${codec} (rows/s)`, fmtRate(o.scan_s), fmtRate(d1), fmtRate(dN), (d1 / o.scan_s).toFixed(2) + 'x', '>= 1.0x t=1');
  const ourOfDuck = ourScansOfDuck.find((x) => x.scan_of === duckFile);
  const d1ours = await duckScan(o.file, 1);
  row(`scan DuckDB's ${codec} file`, fmtRate(ourOfDuck.scan_s), fmtRate(d1), '', (d1 / ourOfDuck.scan_s).toFixed(2) + 'x', '');
  row(`scan stockpipe's ${codec} file`, fmtRate(o.scan_s), fmtRate(d1ours), '', (d1ours / o.scan_s).toFixed(2) + 'x', '');
}
const rowsApi = ours.find((x) => x.name === 'rows_api_snappy');
if (rowsApi) {
  const d1 = duckWrites.find((x) => x.codec === 'snappy' && x.threads === 1);
  const rate = (r, s) => (r / s / 1e6).toFixed(2) + ' M/s';
  row(`write snappy via sp_row (${(rowsApi.rows / 1e6).toFixed(1)}M rows)`, rate(rowsApi.rows, rowsApi.write_s), rate(rows, d1.write_s), '',
      ((rowsApi.rows / rowsApi.write_s) / (rows / d1.write_s)).toFixed(2) + 'x', '');
}
const variants = ours.filter((x) => x.name.startsWith('variant_'));
const head = ['measure', 'stockpipe', 'DuckDB t=1', `DuckDB t=${defaultThreads}`, 'ratio', 'target'];
const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
const pr = (l) => console.log(l.map((v, i) => String(v).padEnd(widths[i])).join('  '));
console.log(`Parquet: ${rows.toLocaleString('en')} hourly bars, stock_movements columns (${cols.length}); ${cpus().length} cores`);
console.log(`rates: rows per CPU second (stockpipe, DuckDB t=1) and per wall second (DuckDB t=${defaultThreads}); ratio = stockpipe vs DuckDB t=1`);
pr(head);
lines.forEach(pr);
if (variants.length) {
  console.log('\nstockpipe encoding variants (same rows):');
  for (const v of variants)
    console.log(`  ${v.name.padEnd(32)} write ${fmtRate(v.write_s).padStart(10)}  size ${fmtMB(v.bytes).padStart(9)}  scan ${fmtRate(v.scan_s).padStart(10)}`);
}
