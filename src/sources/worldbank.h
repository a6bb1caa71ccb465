/*
 * worldbank.h — World Bank Indicators API v2 (no key): annual US GDP growth and CPI
 * inflation for context/macroeconomic.  Pure parser plus `sp_source_worldbank`.
 */
#ifndef STOCKPIPE_SOURCES_WORLDBANK_H
#define STOCKPIPE_SOURCES_WORLDBANK_H

#include "sources/shape.h"
#include "sources/source.h"

extern const sp_source_provider sp_source_worldbank;

/* The fields the parser reads (sources/shape.h): endpoint "indicator". */
extern const sp_shape_spec sp_worldbank_indicator_shape;

/* The World Bank indicator id of a macro indicator name ("gdp_growth" →
 * "NY.GDP.MKTP.KD.ZG", "inflation_rate" → "FP.CPI.TOTL.ZG"), or NULL. */
const char *sp_worldbank_indicator_for(const char *indicator);

/* macroeconomic rows from one `[meta, data]` page: one per observation of `country`
 * (NULL = any) with a value (the World Bank lists years not yet published with a
 * null value: those are skipped, so the watermark does not pass them, and counted:
 * sp_source_count_skip "no_value"; observations of another country, "other_country"), dated January 1
 * of its year, series_id = the World Bank indicator id, unit "percent", frequency
 * "a".  `indicator` is the stored indicator name.  Fills *page (page, pages, total).
 * Errors: SP_ERR_HTTP for the error-array shape `[{"message":[{"id","key","value"}]}]`
 * (message quotes it), SP_ERR_PARSE for other shapes, emit's error. */
int sp_worldbank_parse_indicator(const char *body, size_t len, const char *indicator,
                                 const char *country, sp_source_page *page,
                                 sp_source_row_fn emit, void *arg, sp_error *err);

#endif
