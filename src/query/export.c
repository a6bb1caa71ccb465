/*
 * export.c — `stockpipe export` / sp_client_export: the query's rows written to one
 * file in any registered format, atomically (result.c writes "<dir>/.<name>.tmp",
 * fsyncs it and renames it over the target).
 */
#include "query/query.h"

#include "format/format.h"

int sp_client_export(sp_client *c, const sp_client_query *q, const char *path, const char *format,
                     sp_progress_fn progress, void *progress_ctx, sp_result **written, sp_error *err) {
  if (written) *written = NULL;
  if (!sp_format_find(format))
    return sp_error_set(err, SP_ERR_INVALID, "unknown format \"%s\" (csv, parquet, json)", format ? format : "");
  sp_result *r;
  int rc = sp_client_query_run(c, q, &r, err);
  if (rc) return rc;
  rc = sp_result_write_progress(r, path, format, progress, progress_ctx, err);
  if (!rc && written) *written = r;
  else sp_result_free(r);
  return rc;
}
