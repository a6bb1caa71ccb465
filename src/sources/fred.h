/*
 * fred.h — FRED (St. Louis Fed, key `fred_api_key`): macro series observations,
 * rate decisions from the target-range series, and the release calendar.  Pure
 * parsers plus the provider table `sp_source_fred` (see fred.c).
 */
#ifndef STOCKPIPE_SOURCES_FRED_H
#define STOCKPIPE_SOURCES_FRED_H

#include "sources/shape.h"
#include "sources/source.h"

extern const sp_source_provider sp_source_fred;

/* The fields the parsers read (sources/shape.h): endpoints "series/observations"
 * (macro series and the target-range series of rate decisions), "releases/dates". */
extern const sp_shape_spec sp_fred_observations_shape;
extern const sp_shape_spec sp_fred_release_dates_shape;

/* A FRED series as stored (SPEC §7 macro mapping). */
typedef struct sp_fred_series {
  const char *indicator;  /* "inflation_rate" */
  const char *series_id;  /* "CPIAUCSL" */
  const char *units;      /* FRED `units` parameter ("pc1") or NULL for levels */
  const char *unit;       /* stored unit: "percent", "index", "usd" */
  const char *frequency;  /* "d", "w", "m", "q", "a" */
} sp_fred_series;

/* The FRED series of a macro indicator name, or NULL when FRED has none. */
const sp_fred_series *sp_fred_series_for(const char *indicator);

/* macroeconomic rows from a series/observations response: one per observation, value
 * "." → null, dated as FRED dates them (period start).  Fills *page (count, offset,
 * observations in this response).  Errors: SP_ERR_PARSE (not JSON, no observations
 * array, a bad date), SP_ERR_HTTP (a JSON error body), emit's error. */
int sp_fred_parse_observations(const char *body, size_t len, const sp_fred_series *series,
                               sp_source_page *page, sp_source_row_fn emit, void *arg,
                               sp_error *err);

/* policy rate_decision rows from DFEDTARU (upper) and DFEDTARL (lower) observation
 * responses: one per date where the upper bound differs from the previous
 * observation's (the first observation counts when `first_is_decision`, i.e. the window
 * starts at the series' start).  value = new upper bound; details give both bounds and
 * the previous upper.  An upper-bound observation of "." (no value) is skipped and
 * counted (sp_source_count_skip "no_value").  Errors as for sp_fred_parse_observations. */
int sp_fred_parse_rate_decisions(const char *upper_body, size_t upper_len, const char *lower_body,
                                 size_t lower_len, bool first_is_decision, sp_source_row_fn emit,
                                 void *arg, sp_error *err);

/* policy economic_release rows from a releases/dates response (one per release and
 * date, dated 00:00 UTC that day); an entry without release_name or release_id goes to
 * `bad` (item_unparseable, may be NULL).  Fills *page.  Errors as above. */
int sp_fred_parse_release_dates(const char *body, size_t len, sp_source_page *page,
                                sp_source_row_fn emit, sp_source_bad_item_fn bad, void *arg, sp_error *err);

/* FRED's error_message from an error body into out[outlen]; false when none. */
bool sp_fred_explain_error(const char *body, size_t len, char *out, size_t outlen);

#endif
