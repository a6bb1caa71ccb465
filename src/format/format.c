/*
 * format.c — the registry of file formats (see format.h) and the shared write helper.
 * A new format is one new file plus one line in `formats` below.
 */
#include "format/format.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

extern const sp_format_vtable sp_format_csv, sp_format_jsonl, sp_format_parquet;

static const sp_format_vtable *const formats[] = {
    &sp_format_csv,
    &sp_format_jsonl,
    &sp_format_parquet,
    NULL /* terminator */
};

const sp_format_vtable *sp_format_find(const char *name) {
  if (!name) return NULL;
  if (strcmp(name, "json") == 0) name = "jsonl";
  for (int i = 0; formats[i]; i++)
    if (strcmp(formats[i]->name, name) == 0) return formats[i];
  return NULL;
}

int sp_write_all(int fd, const void *buf, size_t len, const char *what, sp_error *err) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      return sp_error_set(err, e == ENOSPC || e == EDQUOT ? SP_ERR_FULL : SP_ERR_IO,
                          "writing %s: %s", what, strerror(e));
    }
    p += n;
    len -= (size_t)n;
  }
  return SP_OK;
}
