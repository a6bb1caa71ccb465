// bench_query_duckdb.mjs — DuckDB's times for the query benchmark (bench/bench_query.sh):
// the same four queries over the same Parquet files, each result materialised in a
// temporary table (as the client materialises its result set), best of REPEAT runs.
// Usage: node bench_query_duckdb.mjs DATA_DIR FROM TO TICKER1 TICKER2 REPEAT THREADS
// Prints "Q<n> <best seconds> <rows>" lines.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { DuckDBInstance } = await import(join(here, '../tests/tools/node_modules/@duckdb/node-api/lib/index.js'));
const [data, from, to, t1, t2, repeat, threads] = process.argv.slice(2);
const opts = threads === 'default' ? {} : { threads: String(threads) };
const inst = await DuckDBInstance.create(':memory:', opts);
const con = await inst.connect();
const lit = (s) => "'" + s.replaceAll("'", "''") + "'";
await con.run(`CREATE VIEW sm AS SELECT * FROM read_parquet(${lit(join(data, 'raw/stock_movements/*/*.parquet'))}, hive_partitioning=false)`);
const end = new Date(Date.parse(to + 'T00:00:00Z') + 86400000).toISOString().slice(0, 10);
const queries = [
  `SELECT * FROM sm WHERE ticker IN (${lit(t1)}, ${lit(t2)}) AND bar_time >= TIMESTAMPTZ '${from} 00:00:00+00' AND bar_time < TIMESTAMPTZ '${end} 00:00:00+00' ORDER BY ticker, interval, bar_time`,
  `SELECT ticker, count(*) AS n, avg(close) AS mean_close FROM sm WHERE rsi_14 > 70 GROUP BY ticker`,
  `SELECT * FROM sm QUALIFY row_number() OVER (PARTITION BY ticker ORDER BY bar_time DESC) = 1`,
  `SELECT ticker, bar_time, close FROM sm WHERE ticker = ${lit(t1)} ORDER BY bar_time`,
];
for (let i = 0; i < queries.length; i++) {
  let best = Infinity, rows = 0;
  for (let k = 0; k < Number(repeat); k++) {
    const t0 = process.hrtime.bigint();
    await con.run(`CREATE OR REPLACE TEMP TABLE r AS ${queries[i]}`);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (s < best) best = s;
  }
  rows = Number((await (await con.runAndReadAll('SELECT count(*)::INTEGER AS n FROM r')).getRowObjectsJson())[0].n);
  console.log(`Q${i + 1} ${best.toFixed(4)} ${rows}`);
}
