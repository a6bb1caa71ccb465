// duckdb_lib.mjs — what the DuckDB interop checks (parquet_duckdb_check.mjs,
// parquet_duckdb_read_check.mjs, query_duckdb_check.mjs) share: an in-memory,
// one-thread DuckDB (npm @duckdb/node-api, from tests/tools/node_modules) with a query
// returning row objects, SQL string literals, and the SELECT list that reads a Parquet
// file's columns as stockpipe's dumps write them.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { DuckDBInstance } = await import(join(here, 'node_modules/@duckdb/node-api/lib/index.js'));

const instances = []; // kept referenced for the life of the process

// { con, q }: a connection, and q(sql) running a statement and returning its rows as
// JSON-ready objects.
export async function openDuckDB() {
  const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
  instances.push(inst);
  const con = await inst.connect();
  const q = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJson();
  return { con, q };
}

// A SQL string literal.
export const lit = (s) => "'" + s.replaceAll("'", "''") + "'";

// The SELECT list for columns [{name, type}] (stockpipe type names) giving each value as
// the dumps (.jsonl beside each file) hold it: timestamps as epoch microseconds and dates
// as epoch days, both as text, integers as text (no 2^53 rounding), doubles as DOUBLE.
export function dumpedColumns(cols) {
  return cols.map((c) => {
    const n = '"' + c.name + '"';
    switch (c.type) {
      case 'TIMESTAMP': return `epoch_us(${n})::VARCHAR AS ${n}`;
      case 'DATE': return `date_diff('day', DATE '1970-01-01', ${n})::VARCHAR AS ${n}`;
      case 'INT32': case 'INT64': return `${n}::VARCHAR AS ${n}`;
      case 'DOUBLE': return `${n}::DOUBLE AS ${n}`;
      default: return n;
    }
  }).join(', ');
}
