/*
 * summary.c — `stockpipe summary` / sp_client_summary: per dataset the data files,
 * rows, bytes, first and last date of the rows, the last collection time (max
 * collected_at) and the NYSE trading days between first and last date that have no
 * row.  Parquet files are summarised from their footers (row counts, statistics);
 * a file's days come from its partition folder when that names one day, else from
 * its date column.  Issue 10: per dataset also the rows quarantined per rule (the
 * "rule" of each line under <data_dir>/quarantine/<dataset>/) and the stored rows per
 * quality flag (the quality_flags column, read for the datasets that have it).
 */
#include "query/query.h"

#include "core/array.h"
#include "core/market_calendar.h"
#include "core/timeutil.h"
#include "format/value_text.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct day_set {
  int32_t *days;
  size_t n, cap;
} day_set;

static int day_add(day_set *s, int32_t d) {
  if (s->n && s->days[s->n - 1] == d) return SP_OK;
  if (SP_ARRAY_RESERVE(s->days, s->cap, s->n + 1, 256)) return SP_ERR_NOMEM;
  s->days[s->n++] = d;
  return SP_OK;
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

static int32_t to_day(sp_type t, int64_t v) { return t == SP_DATE ? (int32_t)v : sp_timestamp_to_days(v); }

static void note_date(sp_dataset_summary *s, int32_t d) {
  if (!s->has_dates || d < s->first_date) s->first_date = d;
  if (!s->has_dates || d > s->last_date) s->last_date = d;
  s->has_dates = true;
}

static void note_collected(sp_dataset_summary *s, int64_t t) {
  if (!s->has_collected || t > s->last_collected) s->last_collected = t;
  s->has_collected = true;
}

/* Count one row under name[0..len); names beyond the table's room (or too long) go to
 * "(other)", which always keeps the last slot free for itself. */
static void name_count_add(sp_name_count *v, size_t *n, const char *name, size_t len) {
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < *n; i++)
      if (strncmp(v[i].name, name, len) == 0 && v[i].name[len] == '\0') {
        v[i].count++;
        return;
      }
    if (len < SP_SUMMARY_NAME_LEN && *n < SP_SUMMARY_NAMES_MAX - 1) break;
    name = "(other)";
    len = strlen(name);
  }
  memcpy(v[*n].name, name, len);
  v[*n].name[len] = '\0';
  v[*n].count = 1;
  (*n)++;
}

static int cmp_name_count(const void *a, const void *b) {
  return strcmp(((const sp_name_count *)a)->name, ((const sp_name_count *)b)->name);
}

/* Flagged rows and rows per flag of a decoded quality_flags vector ("a,b" or null). */
static void note_flags(sp_dataset_summary *s, const sp_parquet_column_vector *fv) {
  for (size_t i = 0; i < fv->nrows; i++) {
    if (!fv->valid[i] || fv->str_offsets[i + 1] == fv->str_offsets[i]) continue;
    const char *p = fv->str_bytes + fv->str_offsets[i], *end = fv->str_bytes + fv->str_offsets[i + 1];
    s->flagged++;
    while (p < end) {
      const char *comma = memchr(p, ',', (size_t)(end - p));
      const char *stop = comma ? comma : end;
      if (stop > p) name_count_add(s->flags, &s->nflags, p, (size_t)(stop - p));
      p = stop + 1;
    }
  }
}

/* One quarantine line: count it under its "rule". */
static int note_quarantine_line(void *ctx, const char *day, const char *line, size_t len, sp_error *err) {
  (void)day;
  (void)err;
  sp_dataset_summary *s = ctx;
  cJSON *j = cJSON_ParseWithLength(line, len);
  const char *rule = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "rule"));
  if (!rule) rule = "(unreadable)";
  name_count_add(s->quarantine_rules, &s->nquarantine_rules, rule, strlen(rule));
  s->quarantined++;
  cJSON_Delete(j);
  return SP_OK;
}

/* Days, dates and collection times of a decoded date / collected_at vector pair. */
static int note_vectors(sp_dataset_summary *s, const sp_dataset_def *ds, const sp_parquet_column_vector *dv,
                        const sp_parquet_column_vector *cv, day_set *days, bool add_days) {
  sp_type dt = ds->columns[ds->date_column].type;
  for (size_t i = 0; dv && i < dv->nrows; i++) {
    if (!dv->valid[i]) continue;
    int32_t d = to_day(dt, dt == SP_DATE ? dv->i32[i] : dv->i64[i]);
    note_date(s, d);
    if (add_days && day_add(days, d)) return SP_ERR_NOMEM;
  }
  for (size_t i = 0; cv && i < cv->nrows; i++)
    if (cv->valid[i]) note_collected(s, cv->i64[i]);
  return SP_OK;
}

static int summarise_parquet(const sp_data_file *f, const sp_dataset_def *ds, int collected_col, int flags_col,
                             sp_dataset_summary *s, day_set *days, sp_error *err) {
  sp_parquet_reader *r;
  int rc = sp_parquet_reader_open(&r, f->path, NULL, err);
  if (rc) return rc;
  s->rows += (uint64_t)sp_parquet_reader_num_rows(r);
  int dcol = sp_parquet_reader_column_index(r, ds->columns[ds->date_column].name);
  int ccol = collected_col >= 0 ? sp_parquet_reader_column_index(r, "collected_at") : -1;
  int fcol = flags_col >= 0 ? sp_parquet_reader_column_index(r, "quality_flags") : -1;
  bool one_day = f->has_date && f->date_lo == f->date_hi;
  sp_type dt = ds->columns[ds->date_column].type;
  sp_parquet_column_vector dv = {0}, cv = {0}, fv = {0};
  for (int g = 0; g < sp_parquet_reader_num_row_groups(r) && !rc; g++) {
    if (sp_parquet_reader_row_group_rows(r, g) == 0) continue;
    if (fcol >= 0) {
      rc = sp_parquet_reader_read_column(r, g, fcol, &fv, err);
      if (rc) break;
      note_flags(s, &fv);
    }
    const sp_parquet_chunk_info *dc = dcol >= 0 ? sp_parquet_reader_chunk(r, g, dcol) : NULL;
    const sp_parquet_chunk_info *cc = ccol >= 0 ? sp_parquet_reader_chunk(r, g, ccol) : NULL;
    bool stats = dc && dc->has_min_max && (!cc || cc->has_min_max || (cc->has_null_count && cc->null_count == cc->num_values));
    if (stats && one_day) {
      note_date(s, to_day(dt, dt == SP_DATE ? dc->min.u.i32 : dc->min.u.i64));
      note_date(s, to_day(dt, dt == SP_DATE ? dc->max.u.i32 : dc->max.u.i64));
      if (cc && cc->has_min_max) note_collected(s, cc->max.u.i64);
      if (day_add(days, f->date_lo)) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
      continue;
    }
    if (dcol >= 0) rc = sp_parquet_reader_read_column(r, g, dcol, &dv, err);
    if (!rc && ccol >= 0) rc = sp_parquet_reader_read_column(r, g, ccol, &cv, err);
    if (!rc && note_vectors(s, ds, dcol >= 0 ? &dv : NULL, ccol >= 0 ? &cv : NULL, days, true))
      rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  sp_parquet_column_vector_free(&dv);
  sp_parquet_column_vector_free(&cv);
  sp_parquet_column_vector_free(&fv);
  sp_parquet_reader_close(r);
  return rc;
}

static int summarise_text(const sp_data_file *f, const sp_dataset_def *ds, int collected_col, int flags_col,
                          sp_dataset_summary *s, day_set *days, sp_error *err) {
  bool *used = calloc((size_t)ds->ncolumns, sizeof *used);
  sp_parquet_column_vector *vecs = calloc((size_t)ds->ncolumns, sizeof *vecs);
  int rc = used && vecs ? SP_OK : sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  size_t nrows = 0;
  if (!rc) {
    used[ds->date_column] = true;
    if (collected_col >= 0) used[collected_col] = true;
    if (flags_col >= 0) used[flags_col] = true;
    rc = sp_text_read_file(f->path, f->kind, ds, used, vecs, &nrows, err);
  }
  if (!rc) {
    s->rows += nrows;
    if (note_vectors(s, ds, &vecs[ds->date_column], collected_col >= 0 ? &vecs[collected_col] : NULL, days, true))
      rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    if (flags_col >= 0) note_flags(s, &vecs[flags_col]);
  }
  for (int c = 0; vecs && c < ds->ncolumns; c++) sp_parquet_column_vector_free(&vecs[c]);
  free(vecs);
  free(used);
  return rc;
}

static int summarise_dataset(sp_client *c, const sp_dataset_def *ds, sp_dataset_summary *s, sp_error *err) {
  memset(s, 0, sizeof *s);
  s->dataset = ds->name;
  char **roots;
  size_t nroots;
  int rc = sp_client_roots(c, ds, &roots, &nroots, err);
  if (rc) return rc;
  sp_file_list files;
  rc = sp_discover_files((const char *const *)roots, nroots, &files, err);
  sp_free_strings(roots, nroots);
  if (rc) return rc;
  int collected_col = sp_dataset_column_index(ds, "collected_at");
  int flags_col = sp_dataset_column_index(ds, "quality_flags");
  day_set days = {0};
  for (size_t i = 0; i < files.n && !rc; i++) {
    const sp_data_file *f = &files.files[i];
    s->files++;
    s->bytes += f->bytes;
    rc = f->kind == SP_FILE_PARQUET ? summarise_parquet(f, ds, collected_col, flags_col, s, &days, err)
                                    : summarise_text(f, ds, collected_col, flags_col, s, &days, err);
  }
  if (!rc) rc = sp_quarantine_each_line(c->data_dir, ds, NULL, NULL, note_quarantine_line, s, err);
  qsort(s->quarantine_rules, s->nquarantine_rules, sizeof *s->quarantine_rules, cmp_name_count);
  qsort(s->flags, s->nflags, sizeof *s->flags, cmp_name_count);
  if (!rc && s->has_dates) {
    qsort(days.days, days.n, sizeof *days.days, cmp_i32);
    size_t k = 0;
    for (int32_t d = s->first_date; d <= s->last_date; d++) {
      while (k < days.n && days.days[k] < d) k++;
      bool present = k < days.n && days.days[k] == d;
      if (!present && sp_nyse_is_trading_day(d)) s->trading_days_missing++;
    }
  }
  free(days.days);
  sp_file_list_free(&files);
  return rc;
}

int sp_client_summary(sp_client *c, sp_summary *out, sp_error *err) {
  memset(out, 0, sizeof *out);
  for (int d = 0; d < SP_DS_COUNT; d++) {
    int rc = summarise_dataset(c, sp_dataset_get((sp_dataset_id)d), &out->datasets[d], err);
    if (rc) return rc;
    out->total_bytes += out->datasets[d].bytes;
    out->total_files += out->datasets[d].files;
  }
  return SP_OK;
}

/* `,"<key>":{"name":count,...}` (json) or `  <key> <total>: name count, ...` lines. */
static int print_counts(sp_buf *b, bool json, const char *key, uint64_t total, const sp_name_count *v, size_t n) {
  int rc = json ? sp_buf_printf(b, ",\"%s\":%" PRIu64 ",\"%s_by_name\":{", key, total, key)
                : sp_buf_printf(b, "  %-14s %" PRIu64 ":", key, total);
  for (size_t i = 0; i < n && !rc; i++) {
    if (json) {
      if (i) rc = sp_buf_append_str(b, ",");
      if (!rc) rc = sp_json_append_string(b, v[i].name, strlen(v[i].name));
      if (!rc) rc = sp_buf_printf(b, ":%" PRIu64, v[i].count);
    } else {
      rc = sp_buf_printf(b, "%s %s %" PRIu64, i ? "," : "", v[i].name, v[i].count);
    }
  }
  if (!rc) rc = sp_buf_append_str(b, json ? "}" : "\n");
  return rc;
}

int sp_summary_print(const sp_summary *s, FILE *out, bool json, sp_error *err) {
  char first[SP_DATE_TEXT_MAX], last[SP_DATE_TEXT_MAX], coll[SP_TIMESTAMP_TEXT_MAX];
  sp_buf b = SP_BUF_INIT;
  int rc = SP_OK;
  if (json) rc = sp_buf_append_str(&b, "{\"datasets\":{");
  else
    rc = sp_buf_printf(&b, "%-16s %8s %12s %14s  %-10s  %-10s  %-24s %s\n", "dataset", "files", "rows", "bytes",
                       "first", "last", "last collected", "trading days missing");
  for (int d = 0; d < SP_DS_COUNT && !rc; d++) {
    const sp_dataset_summary *x = &s->datasets[d];
    if (x->has_dates) {
      sp_format_date(x->first_date, first);
      sp_format_date(x->last_date, last);
    }
    if (x->has_collected) sp_format_timestamp(x->last_collected, coll);
    if (json) {
      rc = sp_buf_printf(&b, "%s\"%s\":{\"files\":%" PRIu64 ",\"rows\":%" PRIu64 ",\"bytes\":%" PRIu64, d ? "," : "",
                         x->dataset, x->files, x->rows, x->bytes);
      if (!rc && x->has_dates) rc = sp_buf_printf(&b, ",\"first_date\":\"%s\",\"last_date\":\"%s\"", first, last);
      if (!rc && !x->has_dates) rc = sp_buf_append_str(&b, ",\"first_date\":null,\"last_date\":null");
      if (!rc) rc = x->has_collected ? sp_buf_printf(&b, ",\"last_collected\":\"%s\"", coll)
                                     : sp_buf_append_str(&b, ",\"last_collected\":null");
      if (!rc) rc = sp_buf_printf(&b, ",\"trading_days_missing\":%" PRId32, x->trading_days_missing);
      if (!rc) rc = print_counts(&b, true, "quarantined", x->quarantined, x->quarantine_rules, x->nquarantine_rules);
      if (!rc) rc = print_counts(&b, true, "flagged", x->flagged, x->flags, x->nflags);
      if (!rc) rc = sp_buf_append_str(&b, "}");
    } else {
      rc = sp_buf_printf(&b, "%-16s %8" PRIu64 " %12" PRIu64 " %14" PRIu64 "  %-10s  %-10s  %-24s %" PRId32 "\n",
                         x->dataset, x->files, x->rows, x->bytes, x->has_dates ? first : "-",
                         x->has_dates ? last : "-", x->has_collected ? coll : "-", x->trading_days_missing);
      if (!rc && x->quarantined)
        rc = print_counts(&b, false, "quarantined", x->quarantined, x->quarantine_rules, x->nquarantine_rules);
      if (!rc && x->flagged) rc = print_counts(&b, false, "flagged", x->flagged, x->flags, x->nflags);
    }
  }
  if (!rc)
    rc = json ? sp_buf_printf(&b, "},\"total_files\":%" PRIu64 ",\"total_bytes\":%" PRIu64 "}\n", s->total_files,
                              s->total_bytes)
              : sp_buf_printf(&b, "total: %" PRIu64 " files, %" PRIu64 " bytes (%.2f GiB)\n", s->total_files,
                              s->total_bytes, (double)s->total_bytes / (1024.0 * 1024 * 1024));
  if (!rc && (fwrite(b.data, 1, b.len, out) != b.len || fflush(out) != 0))
    rc = sp_error_set(err, SP_ERR_IO, "writing the summary failed");
  if (rc == SP_ERR_NOMEM) sp_error_set(err, rc, "out of memory");
  sp_buf_free(&b);
  return rc;
}
