/*
 * retention.c — `stockpipe retention` / sp_client_retention: delete the partition
 * folders of each dataset whose date is older than its retention (config
 * pipeline.retention_days; 0 keeps forever).  A partition is a folder holding data
 * files with a date in its name (discovery.c); its regular files are removed, then
 * the folder, then parents left empty up to the dataset root.
 */
#include "query/query.h"

#include "core/durable.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Files and bytes of the regular files directly in `dir`; deletes them unless dry_run. */
static int clear_dir(const char *dir, bool dry_run, uint64_t *files, uint64_t *bytes, sp_error *err) {
  *files = *bytes = 0;
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? SP_OK : sp_error_set(err, SP_ERR_IO, "%s: %s", dir, strerror(errno));
  struct dirent *de;
  int rc = SP_OK;
  while (!rc && (de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    (*files)++;
    *bytes += (uint64_t)st.st_size;
    if (!dry_run && unlink(path) != 0 && errno != ENOENT)
      rc = sp_error_set(err, SP_ERR_IO, "deleting %s: %s", path, strerror(errno));
  }
  closedir(d);
  return rc;
}

/* Remove `dir` and its parents while they are empty, stopping at `root`. */
static void remove_empty_up(const char *dir, const char *root) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s", dir);
  size_t rootlen = strlen(root);
  while (strlen(path) > rootlen && strncmp(path, root, rootlen) == 0) {
    if (rmdir(path) != 0) break;
    char *slash = strrchr(path, '/');
    if (!slash) break;
    *slash = '\0';
  }
  char parent[PATH_MAX];
  sp_path_dirname(path, parent, sizeof parent);
  sp_fsync_dir(parent, NULL);
}

int sp_client_retention(sp_client *c, const int64_t retention_days[SP_DS_COUNT], int32_t today, bool dry_run,
                        sp_partition_fn report, void *report_ctx, sp_error *err) {
  int rc = SP_OK;
  for (int d = 0; d < SP_DS_COUNT && !rc; d++) {
    if (retention_days[d] <= 0) continue;
    const sp_dataset_def *ds = sp_dataset_get((sp_dataset_id)d);
    int64_t cutoff = (int64_t)today - retention_days[d]; /* partitions before this day go */
    char **roots;
    size_t nroots;
    rc = sp_client_roots(c, ds, &roots, &nroots, err);
    if (rc) break;
    for (size_t r = 0; r < nroots && !rc; r++) {
      sp_file_list files;
      rc = sp_discover_files((const char *const *)&roots[r], 1, &files, err);
      for (size_t i = 0; i < files.n && !rc; i++) {
        const sp_data_file *f = &files.files[i];
        if (i > 0 && strcmp(files.files[i - 1].dir, f->dir) == 0) continue;
        if (!f->has_date || (int64_t)f->date_hi >= cutoff) continue;
        uint64_t nfiles, bytes;
        rc = clear_dir(f->dir, dry_run, &nfiles, &bytes, err);
        if (rc) break;
        if (!dry_run) remove_empty_up(f->dir, roots[r]);
        if (report) report(report_ctx, ds->name, f->dir, nfiles, bytes);
      }
      sp_file_list_free(&files);
    }
    sp_free_strings(roots, nroots);
  }
  return rc;
}
