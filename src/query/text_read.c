/*
 * text_read.c — read CSV and JSON Lines data files back into column vectors, so that
 * datasets stored with `format: csv | jsonl` are queried like Parquet ones.  The text
 * rules are those the writers follow (SPEC §7, format/value_text.h): CSV has a header
 * row, RFC 4180 quoting, an empty unquoted field is NULL and "" is the empty string;
 * JSON Lines holds one flat object per line with null for NULL; times are ISO 8601
 * UTC, dates YYYY-MM-DD.  Columns the file lacks are NULL; unknown ones are ignored.
 */
#include "query/query.h"

#include "format/value_text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct reader {
  const char *path;
  const sp_dataset_def *ds;
  const bool *used;
  sp_parquet_column_vector *vecs;
  sp_buf *strbytes; /* per column */
  size_t cap, nrows;
  size_t line;
  sp_buf scratch;
} reader;

static int read_whole(const char *path, char **data, size_t *len, sp_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sp_error_set(err, errno == ENOENT ? SP_ERR_NOT_FOUND : SP_ERR_IO, "%s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return sp_error_set(err, SP_ERR_IO, "%s: %s", path, strerror(e));
  }
  char *buf = malloc((size_t)st.st_size + 1);
  if (!buf) {
    close(fd);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory reading %s", path);
  }
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      free(buf);
      close(fd);
      return sp_error_set(err, SP_ERR_IO, "%s: %s", path, strerror(e));
    }
    got += (size_t)n;
  }
  close(fd);
  buf[got] = '\0';
  *data = buf;
  *len = got;
  return SP_OK;
}

static size_t type_width(sp_type t) {
  switch (t) {
  case SP_BOOL: return sizeof(bool);
  case SP_INT32:
  case SP_DATE: return 4;
  default: return 8;
  }
}

/* Allocate every used column for `cap` rows. */
static int reader_alloc(reader *r, size_t cap, sp_error *err) {
  r->cap = cap;
  for (int c = 0; c < r->ds->ncolumns; c++) {
    if (!r->used[c]) continue;
    sp_parquet_column_vector *v = &r->vecs[c];
    sp_type t = r->ds->columns[c].type;
    v->type = t;
    v->valid = calloc(cap + 1, 1);
    void *arr = calloc(cap + 1, t == SP_STRING ? sizeof(uint32_t) : type_width(t));
    switch (t) {
    case SP_BOOL: v->bools = arr; break;
    case SP_INT32:
    case SP_DATE: v->i32 = arr; break;
    case SP_INT64:
    case SP_TIMESTAMP: v->i64 = arr; break;
    case SP_DOUBLE: v->f64 = arr; break;
    case SP_STRING: v->str_offsets = arr; break;
    }
    if (!v->valid || !arr) return sp_error_set(err, SP_ERR_NOMEM, "out of memory reading %s", r->path);
  }
  return SP_OK;
}

/* Store one field's text (NULL = null) in column c of the current row. */
static int set_field(reader *r, int c, const char *text, size_t len, bool is_null, sp_error *err) {
  if (c < 0 || !r->used[c]) return SP_OK;
  sp_parquet_column_vector *v = &r->vecs[c];
  size_t i = r->nrows;
  sp_type t = r->ds->columns[c].type;
  if (t == SP_STRING) {
    if (is_null) return SP_OK;
    if (r->strbytes[c].len + len > UINT32_MAX)
      return sp_error_set(err, SP_ERR_UNSUPPORTED, "%s: more than 4 GiB of %s text", r->path, r->ds->columns[c].name);
    /* Offsets are fixed up at the end of the row: store the length for now. */
    if (sp_buf_append(&r->strbytes[c], text, len)) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    v->str_offsets[i + 1] = (uint32_t)len;
    v->valid[i] = 1;
    return SP_OK;
  }
  if (is_null) return SP_OK;
  sp_parquet_value pv;
  if (sp_value_parse(t, text, len, &pv)) {
    if (t == SP_DOUBLE && len > 0 && len < 8) {
      char tmp[8];
      memcpy(tmp, text, len);
      tmp[len] = '\0';
      if (strcmp(tmp, "inf") == 0 || strcmp(tmp, "-inf") == 0) {
        v->f64[i] = tmp[0] == '-' ? -__builtin_inf() : __builtin_inf();
        v->valid[i] = 1;
        return SP_OK;
      }
    }
    return sp_error_set(err, SP_ERR_CORRUPT, "%s:%zu: column %s: \"%.*s\" is not a %s", r->path, r->line,
                        r->ds->columns[c].name, (int)(len > 60 ? 60 : len), text, sp_type_name(t));
  }
  switch (t) {
  case SP_BOOL: v->bools[i] = pv.u.b; break;
  case SP_INT32:
  case SP_DATE: v->i32[i] = pv.u.i32; break;
  case SP_INT64:
  case SP_TIMESTAMP: v->i64[i] = pv.u.i64; break;
  case SP_DOUBLE: v->f64[i] = pv.u.f64; break;
  default: break;
  }
  v->valid[i] = 1;
  return SP_OK;
}

static void end_row(reader *r) {
  size_t i = r->nrows;
  for (int c = 0; c < r->ds->ncolumns; c++) {
    if (!r->used[c] || r->ds->columns[c].type != SP_STRING) continue;
    uint32_t *off = r->vecs[c].str_offsets;
    off[i + 1] = off[i] + (r->vecs[c].valid[i] ? off[i + 1] : 0);
  }
  r->nrows++;
}

/* ---- CSV ---- */

/* Parse one CSV field starting at *p; the unquoted text or the unescaped quoted text
 * goes to r->scratch.  Sets *quoted, advances *p past the field (to ',' '\n' or end). */
static int csv_field(reader *r, const char **p, const char *end, bool *quoted, sp_error *err) {
  sp_buf_reset(&r->scratch);
  const char *s = *p;
  *quoted = false;
  if (s < end && *s == '"') {
    *quoted = true;
    s++;
    for (;;) {
      if (s >= end) return sp_error_set(err, SP_ERR_CORRUPT, "%s:%zu: unterminated quoted field", r->path, r->line);
      const char *q = memchr(s, '"', (size_t)(end - s));
      if (!q) q = end;
      for (const char *x = s; x < q; x++)
        if (*x == '\n') r->line++;
      if (sp_buf_append(&r->scratch, s, (size_t)(q - s))) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
      s = q;
      if (s >= end) continue;
      if (s + 1 < end && s[1] == '"') {
        if (sp_buf_append_byte(&r->scratch, '"')) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
        s += 2;
        continue;
      }
      s++;
      break;
    }
    if (s < end && *s != ',' && *s != '\n' && *s != '\r')
      return sp_error_set(err, SP_ERR_CORRUPT, "%s:%zu: text after a closing quote", r->path, r->line);
  } else {
    const char *f = s;
    while (s < end && *s != ',' && *s != '\n' && *s != '\r') s++;
    if (sp_buf_append(&r->scratch, f, (size_t)(s - f))) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  if (s < end && *s == '\r') s++;
  *p = s;
  return SP_OK;
}

static int read_csv(reader *r, const char *data, size_t len, sp_error *err) {
  const char *p = data, *end = data + len;
  /* Header. */
  int *map = NULL;
  size_t nmap = 0, capmap = 0;
  int rc = SP_OK;
  r->line = 1;
  while (p < end && *p != '\n' && !rc) {
    bool quoted;
    rc = csv_field(r, &p, end, &quoted, err);
    if (rc) break;
    if (nmap == capmap) {
      capmap = capmap ? capmap * 2 : 64;
      int *g = realloc(map, capmap * sizeof *g);
      if (!g) {
        rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
        break;
      }
      map = g;
    }
    map[nmap++] = sp_dataset_column_index(r->ds, (const char *)(r->scratch.data ? (char *)r->scratch.data : ""));
    if (p < end && *p == ',') p++;
  }
  if (!rc && nmap == 0 && len > 0) rc = sp_error_set(err, SP_ERR_CORRUPT, "%s: no CSV header row", r->path);
  if (p < end) p++;
  size_t lines = 0;
  for (const char *x = p; x < end; x++) lines += *x == '\n';
  if (!rc) rc = reader_alloc(r, lines + 1, err);
  while (!rc && p < end) {
    r->line++;
    if (*p == '\n') { /* empty line */
      p++;
      continue;
    }
    size_t f = 0;
    for (;;) {
      bool quoted;
      rc = csv_field(r, &p, end, &quoted, err);
      if (rc) break;
      if (f >= nmap) {
        rc = sp_error_set(err, SP_ERR_CORRUPT, "%s:%zu: more fields than the header's %zu", r->path, r->line, nmap);
        break;
      }
      const char *text = r->scratch.data ? (const char *)r->scratch.data : "";
      rc = set_field(r, map[f], text, r->scratch.len, !quoted && r->scratch.len == 0, err);
      f++;
      if (rc || p >= end || *p == '\n') break;
      p++; /* ',' */
    }
    if (rc) break;
    if (f != nmap) {
      rc = sp_error_set(err, SP_ERR_CORRUPT, "%s:%zu: %zu fields, the header has %zu", r->path, r->line, f, nmap);
      break;
    }
    if (r->nrows >= r->cap) {
      rc = sp_error_set(err, SP_ERR_CORRUPT, "%s:%zu: too many rows", r->path, r->line);
      break;
    }
    end_row(r);
    if (p < end) p++;
  }
  free(map);
  return rc;
}

/* ---- JSON Lines ---- */

/* One member of a line's object into the current row. */
static int jsonl_member(void *ctx, const char *key, size_t key_len, const char *value, size_t value_len,
                        bool is_string, sp_error *err) {
  (void)key_len;
  reader *r = ctx;
  int c = sp_dataset_column_index(r->ds, key);
  bool is_null = !is_string && value_len == 4 && memcmp(value, "null", 4) == 0;
  return set_field(r, c, value, is_null ? 0 : value_len, is_null, err);
}

static int read_jsonl(reader *r, const char *data, size_t len, sp_error *err) {
  const char *p = data, *end = data + len;
  size_t lines = 0;
  for (const char *x = p; x < end; x++) lines += *x == '\n';
  int rc = reader_alloc(r, lines + 1, err);
  sp_json_scratch scratch = {SP_BUF_INIT, SP_BUF_INIT};
  r->line = 0;
  while (!rc && p < end) {
    r->line++;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) eol = end;
    const char *q = p;
    while (q < eol && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
    if (q < eol) {
      rc = sp_json_parse_flat_object(p, (size_t)(eol - p), &scratch, jsonl_member, r, err);
      if (rc == SP_ERR_CORRUPT && strncmp(err->msg, r->path, strlen(r->path)) != 0)
        sp_error_prefix(err, "%s:%zu", r->path, r->line);
      if (!rc) end_row(r);
    }
    p = eol + 1;
  }
  sp_buf_free(&scratch.key);
  sp_buf_free(&scratch.value);
  return rc;
}

int sp_text_read_file(const char *path, sp_file_kind kind, const sp_dataset_def *ds, const bool *used,
                      sp_parquet_column_vector *vecs, size_t *nrows, sp_error *err) {
  char *data = NULL;
  size_t len = 0;
  int rc = read_whole(path, &data, &len, err);
  if (rc) return rc;
  reader r = {.path = path, .ds = ds, .used = used, .vecs = vecs, .scratch = SP_BUF_INIT};
  r.strbytes = calloc((size_t)ds->ncolumns, sizeof *r.strbytes);
  if (!r.strbytes) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  if (!rc) rc = kind == SP_FILE_CSV ? read_csv(&r, data, len, err) : read_jsonl(&r, data, len, err);
  free(data);
  for (int c = 0; c < ds->ncolumns; c++) {
    if (!rc && used[c]) {
      vecs[c].nrows = r.nrows;
      if (ds->columns[c].type == SP_STRING) {
        size_t blen;
        vecs[c].str_bytes = (char *)sp_buf_detach(&r.strbytes[c], &blen);
        if (!vecs[c].str_bytes) vecs[c].str_bytes = calloc(1, 1);
        if (!vecs[c].str_bytes) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
      }
    }
    if (r.strbytes) sp_buf_free(&r.strbytes[c]);
  }
  free(r.strbytes);
  sp_buf_free(&r.scratch);
  *nrows = r.nrows;
  return rc;
}
