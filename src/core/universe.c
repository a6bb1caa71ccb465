/*
 * universe.c — loads the ticker universe CSV (see universe.h).
 */
#include "core/universe.h"

#include "core/array.h"
#include "core/buf.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FIELDS 64

/* Split one CSV record starting at *p (RFC 4180: quoted fields may hold commas,
 * doubled quotes and newlines).  Fields are written NUL-terminated into `scratch`;
 * fields[i] point into it.  Returns the field count, or -1 on bad quoting. */
static int split_record(const char **p, const char *end, sp_buf *scratch, size_t offsets[MAX_FIELDS],
                        int *line) {
  int nfields = 0;
  sp_buf_reset(scratch);
  const char *s = *p;
  for (;;) {
    if (nfields == MAX_FIELDS) return -1;
    offsets[nfields++] = scratch->len;
    if (s < end && *s == '"') {
      s++;
      for (;;) {
        if (s >= end) return -1;
        if (*s == '"') {
          if (s + 1 < end && s[1] == '"') {
            if (sp_buf_append_byte(scratch, '"')) return -1;
            s += 2;
            continue;
          }
          s++;
          break;
        }
        if (*s == '\n') (*line)++;
        if (sp_buf_append_byte(scratch, (uint8_t)*s)) return -1;
        s++;
      }
      if (s < end && *s != ',' && *s != '\n' && *s != '\r') return -1;
    } else {
      while (s < end && *s != ',' && *s != '\n' && *s != '\r') {
        if (sp_buf_append_byte(scratch, (uint8_t)*s)) return -1;
        s++;
      }
    }
    if (sp_buf_append_byte(scratch, 0)) return -1;
    if (s < end && *s == ',') {
      s++;
      continue;
    }
    if (s < end && *s == '\r') s++;
    if (s < end && *s == '\n') s++;
    break;
  }
  *p = s;
  return nfields;
}

static char *trimmed_dup(const char *s) {
  while (isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
  return strndup(s, n);
}

static int column_of(char **header, int n, const char *const *names) {
  for (int i = 0; i < n; i++)
    for (int k = 0; names[k]; k++)
      if (strcasecmp(header[i], names[k]) == 0) return i;
  return -1;
}

void sp_universe_yahoo_symbol(const char *symbol, char *out, size_t cap) {
  size_t n = 0;
  for (; symbol[n] && n + 1 < cap; n++) {
    char c = symbol[n];
    out[n] = (c == '.' || c == '/') ? '-' : (char)toupper((unsigned char)c);
  }
  if (cap) out[n] = '\0';
}

void sp_universe_free(sp_universe *u) {
  for (size_t i = 0; i < u->count; i++) {
    free(u->entries[i].symbol);
    free(u->entries[i].name);
    free(u->entries[i].sector);
  }
  free(u->entries);
  u->entries = NULL;
  u->count = 0;
}

static int read_file(const char *path, sp_buf *out, sp_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return sp_error_set(err, SP_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
  char chunk[65536];
  size_t n;
  int rc = SP_OK;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    if (sp_buf_append(out, chunk, n)) {
      rc = sp_error_set(err, SP_ERR_NOMEM, "%s: out of memory", path);
      break;
    }
  if (!rc && ferror(f)) rc = sp_error_set(err, SP_ERR_IO, "%s: read error", path);
  fclose(f);
  return rc;
}

int sp_universe_load(const char *path, sp_universe *out, sp_error *err) {
  static const char *const symbol_names[] = {"symbol", "ticker", NULL};
  static const char *const name_names[] = {"name", "security", "company", NULL};
  static const char *const sector_names[] = {"sector", "gics sector", NULL};
  out->entries = NULL;
  out->count = 0;
  sp_buf text = SP_BUF_INIT, scratch = SP_BUF_INIT;
  int rc = read_file(path, &text, err);
  if (rc) goto done;
  const char *p = (const char *)text.data, *end = p + text.len;
  if (end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3; /* UTF-8 BOM */
  size_t offsets[MAX_FIELDS];
  int line = 1;
  int nh = split_record(&p, end, &scratch, offsets, &line);
  if (nh <= 0) {
    rc = sp_error_set(err, SP_ERR_CONFIG, "%s:1: missing or malformed header row", path);
    goto done;
  }
  char *header[MAX_FIELDS];
  for (int i = 0; i < nh; i++) header[i] = (char *)scratch.data + offsets[i];
  int csym = column_of(header, nh, symbol_names), cname = column_of(header, nh, name_names),
      csec = column_of(header, nh, sector_names);
  if (csym < 0) {
    rc = sp_error_set(err, SP_ERR_CONFIG, "%s:1: header has no 'symbol' column", path);
    goto done;
  }
  size_t cap = 0;
  while (p < end) {
    line++;
    int record_line = line;
    int nf = split_record(&p, end, &scratch, offsets, &line);
    if (nf < 0) {
      rc = sp_error_set(err, SP_ERR_CONFIG, "%s:%d: malformed CSV record (quoting)", path, record_line);
      goto done;
    }
    if (nf == 1 && scratch.data[offsets[0]] == '\0') continue; /* blank line */
    const char *sym = csym < nf ? (const char *)scratch.data + offsets[csym] : "";
    char *symbol = trimmed_dup(sym);
    if (!symbol) goto nomem;
    if (!*symbol) {
      free(symbol);
      rc = sp_error_set(err, SP_ERR_CONFIG, "%s:%d: empty symbol", path, record_line);
      goto done;
    }
    sp_universe_yahoo_symbol(symbol, symbol, strlen(symbol) + 1);
    for (size_t i = 0; i < out->count; i++)
      if (strcmp(out->entries[i].symbol, symbol) == 0) {
        rc = sp_error_set(err, SP_ERR_CONFIG, "%s:%d: duplicate symbol %s", path, record_line, symbol);
        free(symbol);
        goto done;
      }
    if (SP_ARRAY_RESERVE(out->entries, cap, out->count + 1, 512)) {
      free(symbol);
      goto nomem;
    }
    sp_universe_entry *e = &out->entries[out->count];
    e->symbol = symbol;
    e->name = trimmed_dup(cname >= 0 && cname < nf ? (const char *)scratch.data + offsets[cname] : "");
    e->sector = trimmed_dup(csec >= 0 && csec < nf ? (const char *)scratch.data + offsets[csec] : "");
    out->count++;
    if (!e->name || !e->sector) goto nomem;
  }
  if (out->count == 0) rc = sp_error_set(err, SP_ERR_CONFIG, "%s: no symbols listed", path);
  goto done;
nomem:
  rc = sp_error_set(err, SP_ERR_NOMEM, "%s: out of memory", path);
done:
  if (rc) sp_universe_free(out);
  sp_buf_free(&text);
  sp_buf_free(&scratch);
  return rc;
}
