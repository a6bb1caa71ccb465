/*
 * durable.c — crash-safe file helpers (see durable.h).
 */
#include "core/durable.h"

#include "format/format.h" /* sp_write_all */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int io_error(sp_error *err, const char *what, const char *path) {
  int e = errno;
  return sp_error_set(err, e == ENOSPC || e == EDQUOT ? SP_ERR_FULL : SP_ERR_IO, "%s %s: %s", what, path,
                      strerror(e));
}

int sp_fsync_dir(const char *dir, sp_error *err) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error(err, "opening directory", dir);
  int rc = fsync(fd) == 0 ? SP_OK : io_error(err, "syncing directory", dir);
  close(fd);
  return rc;
}

void sp_path_dirname(const char *path, char *out, size_t cap) {
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(out, cap, ".");
  } else if (slash == path) {
    snprintf(out, cap, "/");
  } else {
    snprintf(out, cap, "%.*s", (int)(slash - path), path);
  }
}

int sp_mkdirs(const char *dir, sp_error *err) {
  struct stat st;
  if (stat(dir, &st) == 0) {
    if (S_ISDIR(st.st_mode)) return SP_OK;
    return sp_error_set(err, SP_ERR_IO, "%s exists and is not a directory", dir);
  }
  char parent[PATH_MAX];
  sp_path_dirname(dir, parent, sizeof parent);
  if (strcmp(parent, dir) != 0) {
    int rc = sp_mkdirs(parent, err);
    if (rc) return rc;
  }
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) return io_error(err, "creating directory", dir);
  return sp_fsync_dir(parent, err);
}

int sp_write_file_atomic(const char *path, const void *data, size_t len, sp_error *err) {
  char tmp[PATH_MAX];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
    return sp_error_set(err, SP_ERR_INVALID, "path too long: %s", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error(err, "creating", tmp);
  int rc = sp_write_all(fd, data, len, tmp, err);
  if (rc) {
    close(fd);
    unlink(tmp);
    return rc;
  }
  if (fsync(fd) != 0) {
    rc = io_error(err, "syncing", tmp);
    close(fd);
    unlink(tmp);
    return rc;
  }
  close(fd);
  if (rename(tmp, path) != 0) {
    rc = io_error(err, "renaming to", path);
    unlink(tmp);
    return rc;
  }
  char dir[PATH_MAX];
  sp_path_dirname(path, dir, sizeof dir);
  return sp_fsync_dir(dir, err);
}
