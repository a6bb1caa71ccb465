// parquet_duckdb_check.mjs — DuckDB (npm @duckdb/node-api) reads every Parquet file
// stockpipe's writer produced (tests/tools/c/parquet_gen.c) and must return exactly the
// values the generator recorded; parquet_schema() must show the STRING, DATE and
// TIMESTAMP(UTC, MICROS) logical types with their converted types; created_by must
// start with "stockpipe version ".  Run by tests/integration/test_parquet_duckdb.sh.
//
// Usage: node parquet_duckdb_check.mjs DIR   (DIR/manifest.txt lists the cases)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dumpedColumns, lit, openDuckDB } from './duckdb_lib.mjs';

const dir = process.argv[2];
const cases = readFileSync(join(dir, 'manifest.txt'), 'utf8').split('\n').filter(Boolean);
const { q } = await openDuckDB();

const expectedLogical = {
  STRING: ['UTF8', /^StringType\(\)$/],
  DATE: ['DATE', /^DateType\(\)$/],
  TIMESTAMP: ['TIMESTAMP_MICROS', /^TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(MILLIS=<null>, MICROS=MicroSeconds\(\), NANOS=<null>\)\)$/],
};

function sameDouble(want, got) {
  if (typeof want === 'string' || typeof got === 'string') return String(want) === String(got);
  return Object.is(want, got);
}

let failures = 0, values = 0, rows = 0;
function fail(msg) {
  failures++;
  if (failures <= 20) console.error('FAIL ' + msg);
}

for (const base of cases) {
  const file = base + '.parquet';
  const lines = readFileSync(base + '.jsonl', 'utf8').split('\n').filter(Boolean);
  const header = JSON.parse(lines[0]);
  const cols = header.columns;
  const select = dumpedColumns(cols);
  let got;
  try {
    got = await q(`SELECT ${select} FROM read_parquet(${lit(file)})`);
  } catch (e) {
    fail(`${file}: DuckDB cannot read it: ${e.message}`);
    continue;
  }
  if (got.length !== lines.length - 1) fail(`${file}: ${got.length} rows, expected ${lines.length - 1}`);
  for (let r = 0; r < Math.min(got.length, lines.length - 1); r++) {
    const want = JSON.parse(lines[r + 1]);
    rows++;
    cols.forEach((c, i) => {
      values++;
      const g = got[r][c.name], w = want[i];
      const ok = c.type === 'DOUBLE' && w !== null ? sameDouble(w, g) : g === w;
      if (!ok) fail(`${file}: row ${r} column ${c.name}: got ${JSON.stringify(g)}, expected ${JSON.stringify(w)}`);
    });
  }
  const schema = await q(`SELECT name, type, repetition_type, converted_type, logical_type FROM parquet_schema(${lit(file)})`);
  for (const c of cols) {
    const s = schema.find((x) => x.name === c.name);
    if (!s) { fail(`${file}: column ${c.name} missing from parquet_schema`); continue; }
    const exp = expectedLogical[c.type];
    if (exp && (s.converted_type !== exp[0] || !exp[1].test(s.logical_type || '')))
      fail(`${file}: ${c.name}: converted ${s.converted_type}, logical ${s.logical_type}`);
  }
  const meta = await q(`SELECT created_by FROM parquet_file_metadata(${lit(file)})`);
  if (!meta[0].created_by.startsWith('stockpipe version ')) fail(`${file}: created_by ${meta[0].created_by}`);
  const kv = await q(`SELECT decode(key) AS k FROM parquet_kv_metadata(${lit(file)})`);
  if (!kv.some((x) => x.k === 'stockpipe.dataset')) fail(`${file}: no stockpipe.dataset key-value metadata`);
}
console.log(`parquet_duckdb_check: ${cases.length} files, ${rows} rows, ${values} values checked, ${failures} failures`);
process.exit(failures ? 1 : 0);
