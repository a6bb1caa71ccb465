/*
 * quarantine.h — where rejected rows go instead of the dataset (SPEC §7
 * "Validation"): <data_dir>/quarantine/<dataset>/YYYY-MM-DD/rejected-<pid>.jsonl,
 * dated by the row's own date (today when that column is null), one JSON object per
 * rejected row: the row's fields as received (times as ISO 8601 UTC), then "rule",
 * "detail" and "request" (the request it came from, key redacted), and for an item a
 * provider's parser could not turn into a row (sources/source.h, sp_source_reject)
 * "raw": the item as the provider sent it (JSON or XML text, as a JSON string).
 *
 * Every row is appended and synced (file data, and the folder on creation) before
 * the call returns, so a row that is rejected is never lost — rejections are rare,
 * durability beats batching here.  Thread-safe (one append per call with O_APPEND).
 */
#ifndef STOCKPIPE_CORE_QUARANTINE_H
#define STOCKPIPE_CORE_QUARANTINE_H

#include "core/row.h"
#include "stockpipe/error.h"

/* Append `row` with the rule it broke.  `detail`, `request` and `raw` may be NULL (no
 * "raw" member is written then); request and raw are redacted (core/log.h secrets)
 * before they are written.  Returns 0, SP_ERR_IO / SP_ERR_FULL (naming the file) or
 * SP_ERR_NOMEM. */
int sp_quarantine_row(const char *data_dir, const sp_row *row, int64_t now_us, const char *rule,
                      const char *detail, const char *request, const char *raw, sp_error *err);

#endif
