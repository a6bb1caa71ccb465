/*
 * yahoo.h — Yahoo Finance chart v8 parsers (pure: no network) and the provider table
 * `sp_source_yahoo` (see yahoo.c for the endpoints and edge cases handled).
 */
#ifndef STOCKPIPE_SOURCES_YAHOO_H
#define STOCKPIPE_SOURCES_YAHOO_H

#include "sources/shape.h"
#include "sources/source.h"

extern const sp_source_provider sp_source_yahoo;

/* The fields each parser reads (sources/shape.h): "quote" for sp_yahoo_parse_quote,
 * "chart" for sp_yahoo_parse_bars. */
extern const sp_shape_spec sp_yahoo_quote_shape;
extern const sp_shape_spec sp_yahoo_chart_shape;

/* One financial_data row for `ticker` from a chart response (meta + the session's
 * bar).  Errors: SP_ERR_PARSE (not JSON, no meta price/time), SP_ERR_NOT_FOUND (the
 * body carries chart.error, message quotes Yahoo's description), or emit's error. */
int sp_yahoo_parse_quote(const char *body, size_t len, const char *ticker, sp_source_row_fn emit,
                         void *arg, sp_error *err);

/* stock_movements rows for `ticker` at `interval` ("1h", "1d", also "1m"/"30m"…): one
 * per bar complete at `now_us` (bars still forming are not data yet) that is not
 * Yahoo's trailing snapshot pseudo-bar.  Every such bar is emitted, so none is lost
 * silently: a bar starting outside [window_start_us, window_end_us) (window_end_us 0
 * = unbounded) carries quality_flags "bar_outside_window", a bar with O/H/L/C all
 * null (a Yahoo artefact for halted minutes or days) "bar_null" — reject rules
 * (core/validate.h) that send them to the quarantine —, and a bar with only some
 * of O/H/L/C null is emitted with them null (rejected as missing_required).
 * adj_close is set for "1d" only (null when Yahoo gives none); a null volume is
 * stored as 0 (null on a bar_null bar).  A bar whose timestamp is null (or not a
 * number) has no key: it goes to `bad` (item_unparseable, the bar as sent:
 * {"timestamp":null,"open":…}).  Bars still forming and the snapshot pseudo-bar are
 * skipped and counted (sp_source_count_skip: "bar_forming", "snapshot_bar").  An
 * empty window is 0 rows and success.  Errors as for sp_yahoo_parse_quote, plus
 * SP_ERR_INVALID for an unknown interval. */
int sp_yahoo_parse_bars(const char *body, size_t len, const char *ticker, const char *interval,
                        int64_t window_start_us, int64_t window_end_us, int64_t now_us,
                        sp_source_row_fn emit, sp_source_bad_item_fn bad, void *arg, sp_error *err);

/* Yahoo's error description in an error body ("Not Found: No data found, symbol may
 * be delisted") into out[outlen]; false when the body has none. */
bool sp_yahoo_explain_error(const char *body, size_t len, char *out, size_t outlen);

/* The first bar time to request: the watermark when there is one, else now minus
 * the initial history (default 60 days for 1h, 730 for 1d), clamped for 1h to Yahoo's
 * 730-day intraday limit.  Always returns 0. */
int sp_yahoo_bars_window(const char *interval, bool have_watermark, int64_t watermark_us,
                         int initial_history_days, int64_t now_us, int64_t *start_us);

#endif
