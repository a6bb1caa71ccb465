/*
 * quarantine.c — durable append of rejected rows (see quarantine.h).
 */
#include "core/quarantine.h"

#include "core/buf.h"
#include "core/durable.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "format/format.h"
#include "format/value_text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int append_field(sp_buf *line, const char *name, const char *value) {
  if (sp_buf_printf(line, ",\"%s\":", name)) return SP_ERR_NOMEM;
  if (!value) return sp_buf_append_str(line, "null");
  char *copy = strdup(value);
  if (!copy) return SP_ERR_NOMEM;
  sp_redact(copy);
  int rc = sp_json_append_string(line, copy, strlen(copy));
  free(copy);
  return rc;
}

int sp_quarantine_row(const char *data_dir, const sp_row *row, int64_t now_us, const char *rule,
                      const char *detail, const char *request, const char *raw, sp_error *err) {
  const sp_value *date = &row->values[row->ds->date_column];
  char day[SP_DATE_TEXT_MAX];
  sp_format_date(date->is_null ? sp_timestamp_to_days(now_us) : sp_row_date(row), day);
  char dir[4096], path[4200];
  if (snprintf(dir, sizeof dir, "%s/quarantine/%s/%s", data_dir, row->ds->name, day) >= (int)sizeof dir)
    return sp_error_set(err, SP_ERR_INVALID, "quarantine path too long under %s", data_dir);
  snprintf(path, sizeof path, "%s/rejected-%ld.jsonl", dir, (long)getpid());

  sp_buf line = SP_BUF_INIT;
  int rc = sp_json_append_row(&line, row, NULL, 0);
  if (!rc && line.len && line.data[line.len - 1] == '}') line.len--; /* reopen the object */
  if (!rc) rc = append_field(&line, "rule", rule);
  if (!rc) rc = append_field(&line, "detail", detail);
  if (!rc) rc = append_field(&line, "request", request);
  if (!rc && raw) rc = append_field(&line, "raw", raw);
  if (!rc) rc = sp_buf_append_str(&line, "}\n");
  if (rc) {
    sp_buf_free(&line);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory writing the quarantine");
  }
  struct stat st;
  bool created_dir = stat(dir, &st) != 0;
  rc = sp_mkdirs(dir, err);
  bool created_file = !rc && stat(path, &st) != 0;
  int fd = -1;
  if (!rc) {
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) rc = sp_error_set(err, SP_ERR_IO, "cannot open %s: %s", path, strerror(errno));
  }
  if (!rc) rc = sp_write_all(fd, line.data, line.len, path, err);
  if (!rc && fdatasync(fd) != 0) rc = sp_error_set(err, SP_ERR_IO, "cannot sync %s: %s", path, strerror(errno));
  if (fd >= 0) close(fd);
  if (!rc && created_file) rc = sp_fsync_dir(dir, err);
  if (!rc && created_dir) { /* make the new dated folder itself durable */
    char parent[4096];
    sp_path_dirname(dir, parent, sizeof parent);
    rc = sp_fsync_dir(parent, err);
  }
  sp_buf_free(&line);
  return rc;
}
