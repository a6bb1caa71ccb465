/*
 * alphavantage.h — Alpha Vantage (key `alpha_vantage_key`): company fundamentals,
 * quotes, news with per-ticker sentiment, Treasury yields.  Pure parsers plus
 * `sp_source_alphavantage` (see alphavantage.c).
 */
#ifndef STOCKPIPE_SOURCES_ALPHAVANTAGE_H
#define STOCKPIPE_SOURCES_ALPHAVANTAGE_H

#include "sources/news.h"
#include "sources/shape.h"
#include "sources/source.h"

extern const sp_source_provider sp_source_alphavantage;

/* The fields the parsers read (sources/shape.h): endpoints "overview",
 * "news_sentiment", "treasury_yield". */
extern const sp_shape_spec sp_alphavantage_overview_shape;
extern const sp_shape_spec sp_alphavantage_news_shape;
extern const sp_shape_spec sp_alphavantage_treasury_shape;

/* The http classify hook: Alpha Vantage reports errors as HTTP 200 with a top-level
 * "Note" (rate limit), "Information" (rate limit, or a plan/key restriction) or
 * "Error Message" (bad request).  Returns SP_ERR_RATE_LIMIT (retry later),
 * SP_ERR_HTTP (do not retry) or SP_OK. */
int sp_alphavantage_classify(const sp_http_response *resp, void *arg);
/* The message of such a body into out[outlen]; false when it is not one. */
bool sp_alphavantage_explain_error(const char *body, size_t len, char *out, size_t outlen);

/* OVERVIEW → one financial_data row holding `ticker` and the fundamentals
 * (market_cap, pe_ratio, eps, dividend_yield — already a fraction —, week52_high/low;
 * "None" and "-" are null).  `{}` (a symbol Alpha Vantage has no overview for) is 0
 * rows.  Errors: SP_ERR_PARSE, SP_ERR_HTTP/RATE_LIMIT for an error body, emit's. */
int sp_alphavantage_parse_overview(const char *body, size_t len, const char *ticker,
                                   sp_source_row_fn emit, void *arg, sp_error *err);

/* GLOBAL_QUOTE → one financial_data row: price, open, high, low, volume,
 * previous_close; quote_time = the close of the "latest trading day" session (NYSE
 * calendar; 16:00 New York on a non-trading day).  An empty "Global Quote" is 0 rows.
 * Errors as above. */
int sp_alphavantage_parse_global_quote(const char *body, size_t len, sp_source_row_fn emit,
                                       void *arg, sp_error *err);

/* NEWS_SENTIMENT → one sp_news_article per feed item, with the item's
 * ticker_sentiment tickers (Alpha Vantage symbols; "CRYPTO:"/"FOREX:" ones dropped) and
 * their ticker_sentiment_score as provider sentiment.  time_published
 * ("YYYYMMDDTHHMMSS") is read as UTC; an item where it is missing or unreadable is
 * passed with `unreadable` set (for the quarantine).  Errors as above. */
int sp_alphavantage_parse_news_sentiment(const char *body, size_t len, sp_news_article_fn fn,
                                         void *arg, sp_error *err);

/* TREASURY_YIELD → macroeconomic rows: indicator interest_rate, series_id
 * "TREASURY_YIELD:<maturity>", unit percent, frequency from the interval ("daily" d,
 * "weekly" w, "monthly" m); "." is null.  Errors as above. */
int sp_alphavantage_parse_treasury_yield(const char *body, size_t len, const char *maturity,
                                         sp_source_row_fn emit, void *arg, sp_error *err);

#endif
