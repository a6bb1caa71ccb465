/*
 * sink_file.c — the file sink (see sink.h): rows partitioned into folders by their
 * own date, written with any registered format, published atomically under names
 * derived from channel sequence numbers so that a replay never publishes a row twice.
 *
 * A batch is decoded into rows as it is written and grouped by (dataset, folder).
 * Commit handles one group at a time: list the folder's published ranges, drop rows
 * already published, cut the rest into files by roll_rows / roll_bytes, write each
 * file aside, fsync it, rename it, then fsync the folder.  A deferred commit (the
 * sink runner's, see sink.h) leaves the folder syncs to the next flush, which syncs
 * each folder once however many batches renamed files into it.
 */
#include "sinks/sink.h"

#include "core/array.h"
#include "core/durable.h"
#include "core/timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct pending_row {
  uint64_t seq;
  size_t bytes; /* event size, for roll_bytes */
  sp_row row;
} pending_row;

typedef struct row_group {
  const sp_dataset_def *ds;
  char dir[PATH_MAX];
  pending_row *rows;
  size_t n, cap;
} row_group;

typedef struct seq_range {
  uint64_t first, last;
} seq_range;

typedef struct file_sink {
  sp_sink base;
  char *dir_prefix; /* "<data_dir>/" before a relative path template, "" before an absolute one */
  char *path, *prefix, *compression;
  int compression_level;
  size_t roll_rows, roll_bytes;
  const sp_format_vtable *format;
  sp_membudget *budget;
  row_group *groups;
  size_t ngroups, groups_cap;
  size_t reserved; /* budget bytes held by the batch */
  char **unsynced; /* folders renamed into by deferred commits, not synced yet */
  size_t nunsynced, unsynced_cap;
} file_sink;

/* Budget charge of a decoded event: the row's values plus its bytes again for strings. */
#define DECODED_CHARGE(len) (2 * (len) + 256)

int sp_sink_expand_path(const char *tmpl, int64_t us, char *out, size_t cap, sp_error *err) {
  int32_t days = sp_timestamp_to_days(us);
  int year;
  unsigned month, day;
  sp_civil_from_days(days, &year, &month, &day);
  int hour = (int)((us - (int64_t)days * SP_US_PER_DAY) / (3600 * SP_US_PER_SEC));
  size_t n = 0;
  for (const char *p = tmpl; *p; p++) {
    char piece[16];
    int len;
    if (*p != '%') {
      piece[0] = *p;
      len = 1;
    } else {
      switch (*++p) {
      case 'Y': len = snprintf(piece, sizeof piece, "%04d", year); break;
      case 'm': len = snprintf(piece, sizeof piece, "%02u", month); break;
      case 'd': len = snprintf(piece, sizeof piece, "%02u", day); break;
      case 'H': len = snprintf(piece, sizeof piece, "%02d", hour); break;
      case '%': len = snprintf(piece, sizeof piece, "%%"); break;
      default:
        return sp_error_set(err, SP_ERR_CONFIG, "path template \"%s\": unknown escape %%%c (use %%Y %%m %%d %%H)",
                            tmpl, *p ? *p : ' ');
      }
    }
    if (n + (size_t)len >= cap) return sp_error_set(err, SP_ERR_INVALID, "path template \"%s\" too long", tmpl);
    memcpy(out + n, piece, (size_t)len);
    n += (size_t)len;
  }
  out[n] = '\0';
  return SP_OK;
}

static void clear_batch(file_sink *fs) {
  for (size_t g = 0; g < fs->ngroups; g++) {
    for (size_t i = 0; i < fs->groups[g].n; i++) sp_row_clear(&fs->groups[g].rows[i].row);
    free(fs->groups[g].rows);
  }
  free(fs->groups);
  fs->groups = NULL;
  fs->ngroups = fs->groups_cap = 0;
  sp_membudget_release(fs->budget, fs->reserved);
  fs->reserved = 0;
}

static int file_begin(sp_sink *s, sp_error *err) {
  (void)err;
  clear_batch((file_sink *)s);
  return SP_OK;
}

/* The group for (ds, dir), created when new.  NULL when out of memory. */
static row_group *find_group(file_sink *fs, const sp_dataset_def *ds, const char *dir) {
  for (size_t g = 0; g < fs->ngroups; g++)
    if (fs->groups[g].ds == ds && strcmp(fs->groups[g].dir, dir) == 0) return &fs->groups[g];
  if (SP_ARRAY_RESERVE(fs->groups, fs->groups_cap, fs->ngroups + 1, 4)) return NULL;
  row_group *g = &fs->groups[fs->ngroups++];
  memset(g, 0, sizeof *g);
  g->ds = ds;
  snprintf(g->dir, sizeof g->dir, "%s", dir);
  return g;
}

static int row_partition_dir(file_sink *fs, const sp_row *row, uint64_t seq, char *dir, size_t cap,
                             sp_error *err) {
  const sp_value *v = &row->values[row->ds->date_column];
  if (v->is_null)
    return sp_error_set(err, SP_ERR_INVALID, "event %" PRIu64 ": %s row without its %s", seq, row->ds->name,
                        row->ds->columns[row->ds->date_column].name);
  int64_t us = row->ds->columns[row->ds->date_column].type == SP_DATE ? (int64_t)v->u.i32 * SP_US_PER_DAY
                                                                       : v->u.i64;
  char rel[PATH_MAX];
  int rc = sp_sink_expand_path(fs->path, us, rel, sizeof rel, err);
  if (rc) return rc;
  if ((size_t)snprintf(dir, cap, "%s%s", fs->dir_prefix, rel) >= cap)
    return sp_error_set(err, SP_ERR_INVALID, "partition path too long: %s%s", fs->dir_prefix, rel);
  return SP_OK;
}

static int file_write(sp_sink *s, const sp_event *events, size_t n, sp_error *err) {
  file_sink *fs = (file_sink *)s;
  for (size_t i = 0; i < n; i++) {
    size_t charge = DECODED_CHARGE(events[i].len);
    if (!sp_membudget_try_reserve(fs->budget, charge))
      return sp_error_set(err, SP_ERR_FULL, "sink %s: memory budget spent", s->name);
    fs->reserved += charge;
    pending_row pr = {events[i].seq, events[i].len, {0}};
    int rc = sp_sink_decode_event(s, &events[i], &pr.row, err);
    if (rc) return rc;
    char dir[PATH_MAX];
    rc = row_partition_dir(fs, &pr.row, pr.seq, dir, sizeof dir, err);
    row_group *g = rc ? NULL : find_group(fs, pr.row.ds, dir);
    if (!rc && !g) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    if (!rc && SP_ARRAY_RESERVE(g->rows, g->cap, g->n + 1, 64)) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    if (rc) {
      sp_row_clear(&pr.row);
      return rc;
    }
    g->rows[g->n++] = pr;
  }
  return SP_OK;
}

/* Parse "<prefix><first>-<last><ext>" into a range; false when the name is not ours. */
static bool parse_published_name(const file_sink *fs, const char *name, seq_range *r) {
  size_t plen = strlen(fs->prefix), elen = strlen(fs->format->extension), nlen = strlen(name);
  if (nlen <= plen + elen || strncmp(name, fs->prefix, plen) != 0) return false;
  if (strcmp(name + nlen - elen, fs->format->extension) != 0) return false;
  const char *p = name + plen;
  char *end;
  if (*p < '0' || *p > '9') return false;
  errno = 0;
  unsigned long long first = strtoull(p, &end, 10);
  if (*end != '-' || end[1] < '0' || end[1] > '9') return false;
  unsigned long long last = strtoull(end + 1, &end, 10);
  if (errno || (size_t)(end - name) != nlen - elen || last < first) return false;
  r->first = first;
  r->last = last;
  return true;
}

/* Collect the ranges already published in `dir` and delete our stale .tmp files. */
static int scan_published(file_sink *fs, const char *dir, seq_range **ranges, size_t *nranges, sp_error *err) {
  *ranges = NULL;
  *nranges = 0;
  DIR *d = opendir(dir);
  if (!d) return sp_error_set(err, SP_ERR_IO, "sink %s: listing %s: %s", fs->base.name, dir, strerror(errno));
  size_t cap = 0;
  int rc = SP_OK;
  struct dirent *de;
  while (!rc && (de = readdir(d)) != NULL) {
    size_t nlen = strlen(de->d_name);
    if (nlen > 4 && nlen <= NAME_MAX && strcmp(de->d_name + nlen - 4, ".tmp") == 0) {
      char stem[NAME_MAX + 1];
      seq_range ignored;
      snprintf(stem, sizeof stem, "%.*s", (int)(nlen - 4), de->d_name);
      if (parse_published_name(fs, stem, &ignored)) unlinkat(dirfd(d), de->d_name, 0); /* a crashed write */
      continue;
    }
    seq_range r;
    if (!parse_published_name(fs, de->d_name, &r)) continue;
    if (SP_ARRAY_RESERVE(*ranges, cap, *nranges + 1, 16)) {
      rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
      break;
    }
    (*ranges)[(*nranges)++] = r;
  }
  closedir(d);
  if (rc) {
    free(*ranges);
    *ranges = NULL;
  }
  return rc;
}

static bool already_published(const seq_range *ranges, size_t n, uint64_t seq) {
  for (size_t i = 0; i < n; i++)
    if (seq >= ranges[i].first && seq <= ranges[i].last) return true;
  return false;
}

/* Write rows[0..n) (shallow copies) as one published file in g->dir. */
static int publish_file(file_sink *fs, const row_group *g, const sp_row *rows, size_t n, uint64_t first,
                        uint64_t last, sp_error *err) {
  char final[PATH_MAX], tmp[PATH_MAX + 8];
  if ((size_t)snprintf(final, sizeof final, "%s/%s%" PRIu64 "-%" PRIu64 "%s", g->dir, fs->prefix, first, last,
                       fs->format->extension) >= sizeof final)
    return sp_error_set(err, SP_ERR_INVALID, "sink %s: file path too long in %s", fs->base.name, g->dir);
  if (access(final, F_OK) == 0) return SP_OK; /* published before a crash */
  snprintf(tmp, sizeof tmp, "%s.tmp", final);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return sp_error_set(err, errno == ENOSPC ? SP_ERR_FULL : SP_ERR_IO, "sink %s: creating %s: %s",
                        fs->base.name, tmp, strerror(errno));
  sp_format_options opts = {fs->compression, fs->compression_level, 0};
  sp_format_writer *w = NULL;
  int rc = fs->format->open(&w, fd, g->ds, &opts, err);
  if (!rc) rc = fs->format->write_rows(w, rows, n, err);
  if (!rc) rc = fs->format->finish(w, err);
  if (w) fs->format->destroy(w);
  if (!rc && fsync(fd) != 0)
    rc = sp_error_set(err, SP_ERR_IO, "sink %s: syncing %s: %s", fs->base.name, tmp, strerror(errno));
  close(fd);
  if (!rc && rename(tmp, final) != 0)
    rc = sp_error_set(err, SP_ERR_IO, "sink %s: renaming %s: %s", fs->base.name, tmp, strerror(errno));
  if (rc) {
    unlink(tmp);
    sp_error_prefix(err, "sink %s: %s", fs->base.name, final);
  }
  return rc;
}

/* Remember `dir` for the next flush (once).  0 or SP_ERR_NOMEM. */
static int note_unsynced(file_sink *fs, const char *dir, sp_error *err) {
  for (size_t i = 0; i < fs->nunsynced; i++)
    if (strcmp(fs->unsynced[i], dir) == 0) return SP_OK;
  if (SP_ARRAY_RESERVE(fs->unsynced, fs->unsynced_cap, fs->nunsynced + 1, 4))
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  if (!(fs->unsynced[fs->nunsynced] = strdup(dir))) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  fs->nunsynced++;
  return SP_OK;
}

static int commit_group(file_sink *fs, row_group *g, bool deferred, sp_error *err) {
  int rc = sp_mkdirs(g->dir, err);
  seq_range *ranges = NULL;
  size_t nranges = 0;
  if (!rc) rc = scan_published(fs, g->dir, &ranges, &nranges, err);
  sp_row *chunk = rc ? NULL : malloc((g->n ? g->n : 1) * sizeof *chunk);
  if (!rc && !chunk) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  size_t nchunk = 0, chunk_bytes = 0;
  uint64_t first = 0, last = 0;
  for (size_t i = 0; i < g->n && !rc; i++) {
    const pending_row *pr = &g->rows[i];
    if (already_published(ranges, nranges, pr->seq)) continue;
    if (nchunk == 0) first = pr->seq;
    last = pr->seq;
    chunk[nchunk++] = pr->row;
    chunk_bytes += pr->bytes;
    bool full = (fs->roll_rows && nchunk >= fs->roll_rows) || (fs->roll_bytes && chunk_bytes >= fs->roll_bytes);
    if (full) {
      rc = publish_file(fs, g, chunk, nchunk, first, last, err);
      nchunk = chunk_bytes = 0;
    }
  }
  if (!rc && nchunk) rc = publish_file(fs, g, chunk, nchunk, first, last, err);
  if (!rc) rc = deferred ? note_unsynced(fs, g->dir, err) : sp_fsync_dir(g->dir, err);
  free(chunk);
  free(ranges);
  return rc;
}

static int commit_batch(sp_sink *s, bool deferred, sp_error *err) {
  file_sink *fs = (file_sink *)s;
  for (size_t g = 0; g < fs->ngroups; g++) {
    int rc = commit_group(fs, &fs->groups[g], deferred, err);
    if (rc) return rc; /* the batch stays: the runner retries or aborts it */
  }
  clear_batch(fs);
  return SP_OK;
}

static int file_commit(sp_sink *s, sp_error *err) { return commit_batch(s, false, err); }

static int file_commit_deferred(sp_sink *s, sp_error *err) { return commit_batch(s, true, err); }

/* Sync the folders deferred commits renamed into; the ones not synced stay listed. */
static int file_flush(sp_sink *s, sp_error *err) {
  file_sink *fs = (file_sink *)s;
  int rc = SP_OK;
  size_t done = 0;
  while (done < fs->nunsynced && !(rc = sp_fsync_dir(fs->unsynced[done], err))) free(fs->unsynced[done++]);
  memmove(fs->unsynced, fs->unsynced + done, (fs->nunsynced - done) * sizeof *fs->unsynced);
  fs->nunsynced -= done;
  if (rc) sp_error_prefix(err, "sink %s", fs->base.name);
  return rc;
}

static void file_abort(sp_sink *s) { clear_batch((file_sink *)s); }

static void file_close(sp_sink *s) {
  file_sink *fs = (file_sink *)s;
  clear_batch(fs);
  for (size_t i = 0; i < fs->nunsynced; i++) free(fs->unsynced[i]);
  free(fs->unsynced);
  free(fs->dir_prefix);
  free(fs->path);
  free(fs->prefix);
  free(fs->compression);
  sp_sink_base_cleanup(s);
  free(fs);
}

static const sp_sink_ops file_ops = {"file",     file_begin, file_write,          file_commit,
                                     file_abort, file_close, file_commit_deferred, file_flush};

static char *dup_or_null(const char *s, bool *failed) {
  if (!s) return NULL;
  char *d = strdup(s);
  if (!d) *failed = true;
  return d;
}

int sp_sink_file_open(const sp_sink_file_config *cfg, sp_sink **out, sp_error *err) {
  *out = NULL;
  const char *format_name = cfg->format ? cfg->format : "parquet";
  const sp_format_vtable *format = sp_format_find(format_name);
  if (!format)
    return sp_error_set(err, SP_ERR_CONFIG, "sink %s: unknown format \"%s\"", cfg->name ? cfg->name : "",
                        format_name);
  char probe[PATH_MAX];
  int rc = sp_sink_expand_path(cfg->path ? cfg->path : "", 0, probe, sizeof probe, err);
  if (rc) {
    sp_error_prefix(err, "sink %s", cfg->name ? cfg->name : "");
    return rc;
  }
  file_sink *fs = calloc(1, sizeof *fs);
  if (!fs) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  rc = sp_sink_base_init(&fs->base, &file_ops, cfg->name, err);
  if (rc) {
    free(fs);
    return rc;
  }
  bool failed = false;
  fs->path = dup_or_null(cfg->path ? cfg->path : "", &failed);
  /* SPEC §3: a relative sink path is under data_dir; an absolute one is used as it is. */
  if (fs->path && fs->path[0] != '/') {
    if (asprintf(&fs->dir_prefix, "%s/", cfg->data_dir ? cfg->data_dir : ".") < 0) {
      fs->dir_prefix = NULL;
      failed = true;
    }
  } else {
    fs->dir_prefix = dup_or_null("", &failed);
  }
  fs->prefix = dup_or_null(cfg->file_prefix ? cfg->file_prefix : "", &failed);
  fs->compression = dup_or_null(cfg->compression, &failed);
  fs->compression_level = cfg->compression_level;
  fs->roll_rows = cfg->roll_rows;
  fs->roll_bytes = cfg->roll_bytes;
  fs->format = format;
  fs->budget = cfg->budget;
  if (failed) {
    file_close(&fs->base);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  *out = &fs->base;
  return SP_OK;
}
