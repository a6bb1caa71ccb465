/*
 * discovery.c — find a dataset's data files: walk each root folder (by default
 * <data_dir>/<tier>/<dataset>), take the partition date from the folder names (any
 * sink path template shape: "2026-11-25/", "dt=2026-11-25/", "2026/11/25/14/"...),
 * and drop the inputs a compaction has superseded.
 *
 * Superseded inputs (the compaction protocol, docs/QUERY.md): a compaction renames
 * its merged file "<prefix><first>-<last><ext>" into the folder before it removes the
 * inputs, and the inputs' ranges lie inside the merged range.  So within one folder,
 * a sink-named file whose range is strictly inside another complete file's range of
 * the same prefix and extension is a superseded input and is ignored, whether or not
 * it has been removed yet.  A folder is listed with one getdents pass for the small
 * folders a day holds, which Linux runs under the folder's lock: a listing sees the
 * folder either before or after a rename or an unlink, never half of one.
 */
#include "query/query.h"

#include "core/array.h"
#include "core/timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { MAX_DEPTH = 6 };

void sp_file_list_free(sp_file_list *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->files[i].path);
    free(l->files[i].dir);
  }
  free(l->files);
  memset(l, 0, sizeof *l);
}

void sp_free_strings(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

bool sp_partition_date_range(const char *rel, int32_t *lo, int32_t *hi) {
  int parts[3] = {0, 0, 0};
  int nparts = 0;
  for (const char *p = rel; *p && nparts < 3;) {
    if (*p < '0' || *p > '9') {
      p++;
      continue;
    }
    const char *s = p;
    while (*p >= '0' && *p <= '9') p++;
    size_t len = (size_t)(p - s);
    if (nparts == 0 && len == 8) {
      parts[0] = (int)strtol((char[]){s[0], s[1], s[2], s[3], 0}, NULL, 10);
      parts[1] = (s[4] - '0') * 10 + (s[5] - '0');
      parts[2] = (s[6] - '0') * 10 + (s[7] - '0');
      nparts = 3;
    } else if (nparts == 0 && len == 4) {
      parts[nparts++] = (int)strtol((char[]){s[0], s[1], s[2], s[3], 0}, NULL, 10);
    } else if (nparts > 0 && len == 2) {
      parts[nparts++] = (s[0] - '0') * 10 + (s[1] - '0');
    } else if (nparts > 0) {
      break;
    }
  }
  if (nparts == 0) return false;
  if (nparts == 1) {
    *lo = sp_days_from_civil(parts[0], 1, 1);
    *hi = sp_days_from_civil(parts[0], 12, 31);
    return true;
  }
  if (parts[1] < 1 || parts[1] > 12) return false;
  if (nparts == 2) {
    *lo = sp_days_from_civil(parts[0], (unsigned)parts[1], 1);
    *hi = (parts[1] == 12 ? sp_days_from_civil(parts[0] + 1, 1, 1) : sp_days_from_civil(parts[0], (unsigned)parts[1] + 1, 1)) - 1;
    return true;
  }
  if (!sp_is_valid_date(parts[0], (unsigned)parts[1], (unsigned)parts[2])) return false;
  *lo = *hi = sp_days_from_civil(parts[0], (unsigned)parts[1], (unsigned)parts[2]);
  return true;
}

bool sp_parse_seq_name(const char *name, size_t *prefix_len, uint64_t *first, uint64_t *last, const char **ext) {
  /* The range is the last "<digits>-<digits>" before the extension. */
  const char *dot = strrchr(name, '.');
  if (!dot || dot == name) return false;
  const char *p = dot;
  const char *last_end = p;
  while (p > name && p[-1] >= '0' && p[-1] <= '9') p--;
  if (p == last_end || p == name || p[-1] != '-') return false;
  const char *last_start = p;
  p--; /* the '-' */
  const char *first_end = p;
  while (p > name && p[-1] >= '0' && p[-1] <= '9') p--;
  if (p == first_end) return false;
  char *end;
  errno = 0;
  unsigned long long a = strtoull(p, &end, 10);
  if (end != first_end) return false;
  unsigned long long b = strtoull(last_start, &end, 10);
  if (end != last_end || errno || b < a) return false;
  *prefix_len = (size_t)(p - name);
  *first = a;
  *last = b;
  *ext = dot;
  return true;
}

static bool kind_of(const char *name, sp_file_kind *kind) {
  size_t n = strlen(name);
  static const struct {
    const char *ext;
    sp_file_kind kind;
  } exts[] = {{".parquet", SP_FILE_PARQUET}, {".csv", SP_FILE_CSV}, {".jsonl", SP_FILE_JSONL}, {".json", SP_FILE_JSONL}};
  for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
    size_t e = strlen(exts[i].ext);
    if (n > e && strcmp(name + n - e, exts[i].ext) == 0) {
      *kind = exts[i].kind;
      return true;
    }
  }
  return false;
}

static int push_file(sp_file_list *l, const char *path, const char *dir, sp_file_kind kind, uint64_t bytes,
                     bool has_date, int32_t lo, int32_t hi, sp_error *err) {
  if (SP_ARRAY_RESERVE(l->files, l->cap, l->n + 1, 64)) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  sp_data_file *f = &l->files[l->n];
  f->path = strdup(path);
  f->dir = strdup(dir);
  if (!f->path || !f->dir) {
    free(f->path);
    free(f->dir);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  f->kind = kind;
  f->bytes = bytes;
  f->has_date = has_date;
  f->date_lo = lo;
  f->date_hi = hi;
  l->n++;
  return SP_OK;
}

typedef struct entry {
  char *name;
  bool is_dir;
  uint64_t bytes;
} entry;

static int cmp_entry(const void *a, const void *b) {
  return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

/* Read the entries of `dir` (names not starting with '.', not "*.tmp"). */
static int list_dir(const char *dir, entry **out, size_t *n, sp_error *err) {
  *out = NULL;
  *n = 0;
  DIR *d = opendir(dir);
  if (!d) {
    if (errno == ENOENT) return SP_OK;
    return sp_error_set(err, SP_ERR_IO, "%s: %s", dir, strerror(errno));
  }
  size_t cap = 0;
  int rc = SP_OK;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    const char *name = de->d_name;
    size_t len = strlen(name);
    if (name[0] == '.' || (len > 4 && strcmp(name + len - 4, ".tmp") == 0)) continue;
    if (SP_ARRAY_RESERVE(*out, cap, *n + 1, 32)) {
      rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
      break;
    }
    entry *e = &(*out)[*n];
    e->name = strdup(name);
    if (!e->name) {
      rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
      break;
    }
    (*n)++;
  }
  closedir(d);
  /* Types and sizes after the listing, so the listing itself is one quick pass. */
  for (size_t i = 0; i < *n && !rc; i++) {
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, (*out)[i].name);
    (*out)[i].is_dir = false;
    (*out)[i].bytes = 0;
    if (stat(path, &st) != 0) {
      (*out)[i].bytes = UINT64_MAX; /* vanished: dropped below */
      continue;
    }
    (*out)[i].is_dir = S_ISDIR(st.st_mode);
    (*out)[i].bytes = S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) ? (uint64_t)st.st_size : UINT64_MAX;
  }
  if (!rc) qsort(*out, *n, sizeof **out, cmp_entry);
  return rc;
}

static void free_entries(entry *e, size_t n) {
  for (size_t i = 0; i < n; i++) free(e[i].name);
  free(e);
}

/* Whether entry i is a sink-named file superseded by a merged file among `e`. */
static bool superseded(const entry *e, size_t n, size_t i) {
  size_t plen;
  uint64_t first, last;
  const char *ext;
  if (!sp_parse_seq_name(e[i].name, &plen, &first, &last, &ext)) return false;
  for (size_t j = 0; j < n; j++) {
    size_t plen2;
    uint64_t f2, l2;
    const char *ext2;
    if (j == i || e[j].is_dir || !sp_parse_seq_name(e[j].name, &plen2, &f2, &l2, &ext2)) continue;
    if (plen2 != plen || strncmp(e[i].name, e[j].name, plen) != 0 || strcmp(ext, ext2) != 0) continue;
    if (f2 <= first && last <= l2 && (f2 != first || l2 != last)) return true;
  }
  return false;
}

/* List `dir` (a folder under `root`) into `out`; `fixed` (may be NULL) gives the
 * partition's date instead of the folder names below root. */
static int walk(const char *root, const char *dir, int depth, bool recurse, const sp_data_file *fixed,
                sp_file_list *out, sp_error *err) {
  entry *e;
  size_t n;
  int rc = list_dir(dir, &e, &n, err);
  if (rc) return rc;
  int32_t lo = 0, hi = 0;
  bool has_date;
  if (fixed) {
    has_date = fixed->has_date;
    lo = fixed->date_lo;
    hi = fixed->date_hi;
  } else {
    size_t rootlen = strlen(root);
    has_date = sp_partition_date_range(strlen(dir) > rootlen ? dir + rootlen : "", &lo, &hi);
  }
  for (size_t i = 0; i < n && !rc; i++) {
    if (e[i].bytes == UINT64_MAX) continue;
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e[i].name) >= sizeof path) {
      rc = sp_error_set(err, SP_ERR_INVALID, "path too long under %s", dir);
      break;
    }
    if (e[i].is_dir) {
      if (recurse && depth < MAX_DEPTH) rc = walk(root, path, depth + 1, true, NULL, out, err);
      continue;
    }
    sp_file_kind kind;
    if (!kind_of(e[i].name, &kind) || superseded(e, n, i)) continue;
    rc = push_file(out, path, dir, kind, e[i].bytes, has_date, lo, hi, err);
  }
  free_entries(e, n);
  return rc;
}

/* By folder, then name: a partition's files are contiguous. */
static int cmp_file(const void *a, const void *b) {
  const sp_data_file *x = a, *y = b;
  int c = strcmp(x->dir, y->dir);
  return c ? c : strcmp(x->path, y->path);
}

int sp_discover_files(const char *const *roots, size_t nroots, sp_file_list *out, sp_error *err) {
  memset(out, 0, sizeof *out);
  for (size_t r = 0; r < nroots; r++) {
    int rc = walk(roots[r], roots[r], 0, true, NULL, out, err);
    if (rc) {
      sp_file_list_free(out);
      return rc;
    }
  }
  if (out->n > 1) qsort(out->files, out->n, sizeof *out->files, cmp_file);
  /* The same folder reached from two roots: keep one. */
  size_t w = 0;
  for (size_t i = 0; i < out->n; i++) {
    if (w > 0 && strcmp(out->files[w - 1].path, out->files[i].path) == 0) {
      free(out->files[i].path);
      free(out->files[i].dir);
      continue;
    }
    out->files[w++] = out->files[i];
  }
  out->n = w;
  return SP_OK;
}

int sp_discover_dir(const sp_data_file *like, sp_file_list *out, sp_error *err) {
  memset(out, 0, sizeof *out);
  int rc = walk(like->dir, like->dir, 0, false, like, out, err);
  if (rc) sp_file_list_free(out);
  return rc;
}
