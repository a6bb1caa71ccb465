/*
 * finnhub.h — Finnhub (key `finnhub_api_key`): company news, quotes and basic
 * financials.  Pure parsers plus `sp_source_finnhub` (see finnhub.c).
 */
#ifndef STOCKPIPE_SOURCES_FINNHUB_H
#define STOCKPIPE_SOURCES_FINNHUB_H

#include "sources/news.h"
#include "sources/shape.h"
#include "sources/source.h"

extern const sp_source_provider sp_source_finnhub;

/* The fields the parsers read (sources/shape.h): endpoints "company-news",
 * "stock/metric". */
extern const sp_shape_spec sp_finnhub_news_shape;
extern const sp_shape_spec sp_finnhub_metric_shape;

/* company-news → one sp_news_article per item (datetime in Unix seconds; `related`
 * is a comma-separated symbol list; empty summary is null; an item whose datetime is
 * missing or not a positive time is passed with `unreadable` set, for the quarantine).
 * Errors: SP_ERR_PARSE,
 * SP_ERR_HTTP for a `{"error": ...}` body, fn's error. */
int sp_finnhub_parse_company_news(const char *body, size_t len, sp_news_article_fn fn, void *arg,
                                  sp_error *err);

/* quote → one financial_data row (c price, o/h/l, pc previous close, t quote time).
 * An unknown symbol (t = 0) is 0 rows.  Errors as above. */
int sp_finnhub_parse_quote(const char *body, size_t len, const char *ticker,
                           sp_source_row_fn emit, void *arg, sp_error *err);

/* stock/metric?metric=all → one financial_data row with `ticker` and fundamentals:
 * market_cap (marketCapitalization is in millions of USD), pe_ratio (peTTM, else
 * peBasicExclExtraTTM), eps (epsTTM, else epsBasicExclExtraItemsTTM), dividend_yield
 * (dividendYieldIndicatedAnnual, else currentDividendYieldTTM; percent → fraction),
 * week52_high/low.  An empty metric object is 0 rows.  Errors as above. */
int sp_finnhub_parse_metric(const char *body, size_t len, const char *ticker,
                            sp_source_row_fn emit, void *arg, sp_error *err);

#endif
