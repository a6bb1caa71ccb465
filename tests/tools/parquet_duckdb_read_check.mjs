// parquet_duckdb_read_check.mjs — interop, the other direction: DuckDB (npm
// @duckdb/node-api) writes Parquet files (every codec × parquet_version V1/V2 × row-group
// sizes, over a table of booleans, small and large integers, floats, doubles, decimals,
// dictionary-friendly and unique strings, dates, timestamps in ms/us/ns with and without
// time zone, an all-null column and an empty file); stockpipe's reader dumps each file
// (tests/tools/c/parquet_dump.c) and the values must equal what DuckDB reads back.
// Run by tests/integration/test_parquet_duckdb.sh.
//
// Usage: node parquet_duckdb_read_check.mjs PARQUET_DUMP_BINARY WORKDIR
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { dumpedColumns, lit, openDuckDB } from './duckdb_lib.mjs';

const [dumpTool, dir] = process.argv.slice(2);
const { con, q } = await openDuckDB();

await con.run(`CREATE TABLE t AS SELECT
  i::INTEGER AS id,
  (i % 2 = 0) AS b,
  CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 3 = 0) END AS b_opt,
  ((hash(i) % 4000000000)::BIGINT - 2000000000)::INTEGER AS i32,
  CASE WHEN i % 5 = 0 THEN NULL ELSE (hash(i * 3) >> 1)::BIGINT - 4611686018427387904 END AS i64,
  (i % 100)::SMALLINT AS small,
  (i % 100 - 50)::TINYINT AS tiny,
  (hash(i) % 1000000)::DOUBLE / 7.0 AS dbl,
  CASE WHEN i % 11 = 0 THEN NULL ELSE (i / 3.0)::FLOAT END AS flt,
  ((i % 10000) / 100.0)::DECIMAL(9, 2) AS dec32,
  ((hash(i) % 100000000)::DECIMAL(18, 3) / 1000)::DECIMAL(18, 3) AS dec64,
  'ticker_' || (i % 37) AS low_str,
  CASE WHEN i % 4 = 0 THEN NULL ELSE md5(i::VARCHAR) END AS hi_str,
  repeat('x', i % 50) || 'é' AS var_str,
  DATE '2020-01-01' + (i % 2000)::INTEGER AS d,
  TIMESTAMP '1960-01-01' + INTERVAL (i * 7919) MINUTE AS ts,
  TIMESTAMPTZ '2021-01-01 00:00:00+00' + INTERVAL (i * 7) SECOND AS tstz,
  CASE WHEN i % 3 = 0 THEN NULL ELSE (TIMESTAMP '2022-01-01' + INTERVAL (i * 13) MILLISECOND)::TIMESTAMP_MS END AS ts_ms,
  (TIMESTAMP '2022-01-01' + INTERVAL (i) MICROSECOND)::TIMESTAMP_NS AS ts_ns,
  NULL::VARCHAR AS all_null,
  (i * 1.5)::DOUBLE AS seq_dbl,
  CASE WHEN i % 2 = 0 THEN NULL ELSE 'same' END AS const_str
FROM range(3000) r(i)`);

const files = [];
for (const codec of ['uncompressed', 'snappy', 'gzip', 'zstd'])
  for (const version of ['V1', 'V2'])
    for (const rg of [0, 700]) {
      const f = join(dir, `duck_${codec}_${version}_${rg}.parquet`);
      const rgOpt = rg ? `, ROW_GROUP_SIZE ${rg}` : '';
      await con.run(`COPY t TO ${lit(f)} (FORMAT parquet, COMPRESSION ${codec}, PARQUET_VERSION ${version}${rgOpt})`);
      files.push(f);
    }
const empty = join(dir, 'duck_empty.parquet');
await con.run(`COPY (SELECT * FROM t LIMIT 0) TO ${lit(empty)} (FORMAT parquet)`);
files.push(empty);
const tiny = join(dir, 'duck_tiny_pages.parquet');
await con.run(`COPY (SELECT * FROM t ORDER BY low_str) TO ${lit(tiny)} (FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION V2, ROW_GROUP_SIZE 100)`);
files.push(tiny);

try {
  execFileSync(dumpTool, files, { stdio: ['ignore', 'inherit', 'inherit'] });
} catch (e) {
  console.error(`parquet_duckdb_read_check: ${dumpTool} failed (status ${e.status})`);
  process.exit(1);
}

function same(type, want, got) {
  if (want === null || got === null) return want === got;
  if (type === 'DOUBLE') {
    if (typeof want === 'string' || typeof got === 'string') return String(want) === String(got);
    return Object.is(want, got);
  }
  return want === got;
}

let failures = 0, values = 0, rows = 0;
function fail(msg) {
  failures++;
  if (failures <= 20) console.error('FAIL ' + msg);
}
for (const f of files) {
  const lines = readFileSync(f + '.jsonl', 'utf8').split('\n').filter(Boolean);
  const cols = JSON.parse(lines[0]).columns;
  const select = dumpedColumns(cols);
  const duck = await q(`SELECT ${select} FROM read_parquet(${lit(f)})`);
  if (duck.length !== lines.length - 1) fail(`${f}: our reader gave ${lines.length - 1} rows, DuckDB ${duck.length}`);
  for (let r = 0; r < Math.min(duck.length, lines.length - 1); r++) {
    const ours = JSON.parse(lines[r + 1]);
    rows++;
    cols.forEach((c, i) => {
      values++;
      if (!same(c.type, duck[r][c.name], ours[i]))
        fail(`${f}: row ${r} column ${c.name} (${c.type}): ours ${JSON.stringify(ours[i])}, DuckDB ${JSON.stringify(duck[r][c.name])}`);
    });
  }
}
const encodings = await q(`SELECT DISTINCT unnest(string_split(encodings, ', ')) AS e FROM parquet_metadata([${files.map(lit).join(',')}]) ORDER BY 1`);
console.log(`parquet_duckdb_read_check: ${files.length} DuckDB files (encodings ${encodings.map((x) => x.e).join(' ')}), ${rows} rows, ${values} values, ${failures} failures`);
process.exit(failures ? 1 : 0);
