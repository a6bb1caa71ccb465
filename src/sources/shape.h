/*
 * shape.h — detecting that a provider changed the shape of its responses (issue 10):
 * a field the parser reads went missing or was renamed, or now holds another JSON type.
 *
 * Each provider describes, per endpoint, the fields its parser reads as a small
 * table (sp_shape_spec: JSON paths, the JSON type expected, how much the parser
 * needs the field).  Before parsing a response, the provider's callback calls
 * sp_source_check_shape, which compares the body with the table and, on a change:
 *   - logs ONE warning per (provider, endpoint, set of changes) per process, naming
 *     the fields:  yahoo chart: response shape changed: missing field
 *     "chart.result[0].indicators.quote[0].volume"; "chart.result[0].meta.regularMarketPrice"
 *     is string, expected number
 *   - counts the response in stockpipe_source_shape_changes_total{provider,endpoint}
 *     (core/metrics.h) and in the round's provider report (shape_changes);
 *   - when a REQUIRED field changed (one the parser needs to build rows: a key, a
 *     time, a price), the response is not parsed: its request fails and is counted
 *     against the provider like any failed request (the round exits 1), nothing half
 *     read is stored and the watermark does not move, so the data is fetched again
 *     once the parser is fixed.  Repeats of an already-warned change are logged at
 *     debug level only;
 *   - when only OPTIONAL or IF_PRESENT fields changed (they fill nullable columns),
 *     the response is parsed and its rows stored with those columns null.
 * Error bodies (those the provider's explain_error recognises) are not checked.
 *
 * Paths: member names joined by '.', array elements as `[n]` (one element) or `[*]`
 * (every element); a path may start with an index when the body is an array
 * (World Bank: "[1][*].date").  Under `[*]` a field is "missing" only when absent
 * from every element (renamed or removed; one odd element is the parser's business),
 * while a wrong type in any element is a change.  JSON null is accepted for
 * every field (providers use it for "no value") and a null or absent parent stops
 * the walk below it (the parent itself is checked by its own entry).
 *
 * New fields: an entry of type SP_SHAPE_RECORD marks an item-level object (a news
 * article, an observation, Yahoo's quote meta) whose members are all listed in the
 * table — the ones the parser reads, and the others as SP_SHAPE_KNOWN entries.  A
 * member not listed is a new field (a renamed field shows up as one missing and one
 * new): it is warned ONCE per (provider, endpoint, field) per process, e.g.
 *     yahoo quote: response shape changed: new field "chart.result[0].meta.marketState"
 * and the response is counted in stockpipe_source_shape_changes_total like any change;
 * the rows are parsed as usual.  Objects whose members legitimately vary (Yahoo's
 * indicator arrays, Finnhub's metric map, Alpha Vantage's OVERVIEW, FRED's top-level
 * paging keys) are not marked, so they never report new fields.
 *
 * Non-JSON feeds (the Federal Reserve's RSS) fill a sp_shape_report themselves with
 * sp_shape_report_missing and hand it to sp_source_report_shape (no new-field check).
 *
 * Thread-safety: the checks are pure; the once-per-process registry of warned
 * changes is guarded by a mutex.
 */
#ifndef STOCKPIPE_SOURCES_SHAPE_H
#define STOCKPIPE_SOURCES_SHAPE_H

#include "sources/source.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum sp_shape_type {
  SP_SHAPE_NUMBER,
  SP_SHAPE_STRING,
  SP_SHAPE_BOOL,
  SP_SHAPE_ARRAY,
  SP_SHAPE_OBJECT,
  SP_SHAPE_TEXT,  /* non-JSON feeds: an element with text content */
  SP_SHAPE_RECORD /* an object all of whose members the table lists: others are new fields */
} sp_shape_type;

typedef enum sp_shape_need {
  SP_SHAPE_REQUIRED,   /* rows cannot be built without it: a change fails the request */
  SP_SHAPE_OPTIONAL,   /* always sent, fills a nullable column: a change is reported */
  SP_SHAPE_IF_PRESENT, /* legitimately absent at times: only its type is checked */
  SP_SHAPE_KNOWN       /* sent but not read: listed so that it is no new field of its
                          SP_SHAPE_RECORD parent; never checked */
} sp_shape_need;

typedef struct sp_shape_field {
  const char *path;      /* "chart.result[0].meta.regularMarketPrice" */
  sp_shape_type type;
  sp_shape_need need;
  const char *when;      /* checked only when this path (no [*]; "" = the body) holds a
                            value that is not null, {} or []; NULL = always (Yahoo's
                            quote arrays exist only when "chart.result[0].timestamp"
                            does; Finnhub sends "metric":{} for unknown symbols) */
} sp_shape_field;

typedef struct sp_shape_spec {
  const char *provider;  /* "yahoo" */
  const char *endpoint;  /* "chart": the metric's label and the warning's prefix */
  const sp_shape_field *fields;
  size_t nfields;
} sp_shape_spec;

/* A spec from a static array of fields. */
#define SP_SHAPE_SPEC(provider, endpoint, fields) \
  {(provider), (endpoint), (fields), sizeof(fields) / sizeof((fields)[0])}

#define SP_SHAPE_TEXT_MAX 480
#define SP_SHAPE_NEW_MAX 8       /* new fields kept per response (more are counted) */
#define SP_SHAPE_PATH_MAX 128    /* a new field's path, cut to fit */

/* What one response's check found. */
typedef struct sp_shape_report {
  const char *provider, *endpoint;  /* borrowed from the spec */
  int nchanges;                     /* fields reported missing or of another type */
  bool required_changed;            /* a REQUIRED field among them */
  char text[SP_SHAPE_TEXT_MAX];     /* `missing field "a.b"; "c" is string, expected number`,
                                       changes in spec order ("…" when cut) */
  int nnew;                         /* new fields (members of SP_SHAPE_RECORD objects the
                                       table does not list), each counted once */
  char new_fields[SP_SHAPE_NEW_MAX][SP_SHAPE_PATH_MAX]; /* the first SP_SHAPE_NEW_MAX:
                                       "articles[*].published" */
} sp_shape_report;

/* Start an empty report for `spec`'s provider and endpoint. */
void sp_shape_report_init(sp_shape_report *report, const sp_shape_spec *spec);
/* Record that `path` is missing (once per path). */
void sp_shape_report_missing(sp_shape_report *report, const char *path, sp_shape_need need);
/* Record that `path` holds a `found` value where `expected` was expected (type names:
 * "number", "string", "boolean", "array", "object"); once per path. */
void sp_shape_report_type(sp_shape_report *report, const char *path, const char *found,
                          const char *expected, sp_shape_need need);

/* Check a parsed JSON body against `spec` into `report` (initialised by the call):
 * missing fields and type changes, then new fields.  Pure; never fails. */
struct cJSON;
void sp_shape_check_json(const struct cJSON *root, const sp_shape_spec *spec, sp_shape_report *report);

/* The same on `len` bytes of `body`; a body that is not JSON gives an empty report
 * (the parser reports that itself). */
void sp_shape_check_body(const char *body, size_t len, const sp_shape_spec *spec,
                         sp_shape_report *report);

/* During a round: check `resp` (skipped for bodies the provider's explain_error
 * recognises as an error) and report changes and new fields as described at the top.
 * Returns 0
 * when the response may be parsed, or SP_ERR_PARSE with err "<provider> <endpoint>:
 * response shape changed: ..." when a required field changed (return it from the
 * response callback). */
int sp_source_check_shape(sp_source_ctx *ctx, const sp_shape_spec *spec, const sp_http_response *resp,
                          sp_error *err);

/* Report a filled `report` (non-JSON feeds) of the response from `url` (redacted; may
 * be NULL): warning once, metric, provider report.  Returns as sp_source_check_shape. */
int sp_source_report_shape(sp_source_ctx *ctx, const sp_shape_report *report, const char *url, sp_error *err);

#endif
