/*
 * news.h — what all news providers share: article identity (SPEC §7 canonical URL,
 * `article_id` = hex SHA-256 of it), ticker tagging (the provider's symbols plus
 * company-name matching), the per-round (article_id, ticker) de-duplication set, and
 * turning one parsed article into its news rows (one per ticker, with sentiment).
 *
 * News parsers (sp_finnhub_parse_company_news, sp_newsapi_parse_everything,
 * sp_alphavantage_parse_news_sentiment) produce sp_news_article records; collect
 * code passes them to sp_news_emit_article.
 */
#ifndef STOCKPIPE_SOURCES_NEWS_H
#define STOCKPIPE_SOURCES_NEWS_H

#include "core/buf.h"
#include "core/sha256.h"
#include "sources/source.h"

#include <stdbool.h>
#include <stdint.h>

#define SP_NEWS_MAX_TICKERS 32

/* One article as a provider gave it.  All strings are borrowed from the parsed
 * response and valid only during the callback. */
typedef struct sp_news_article {
  const char *url;
  const char *headline;
  const char *summary;    /* NULL when the provider gave none (NewsAPI null description) */
  const char *publisher;  /* or NULL */
  int64_t published_at;   /* UTC microseconds */
  /* Tickers the provider itself associates with the article (Yahoo form), with the
   * provider's own sentiment for each when it gives one (NAN otherwise). */
  const char *tickers[SP_NEWS_MAX_TICKERS];
  double provider_sentiment[SP_NEWS_MAX_TICKERS];
  int ntickers;
  const struct cJSON *raw;  /* the item as the provider sent it (for the quarantine), or NULL */
  char unreadable[160];     /* set by the parser when it could not read the item's time,
                               naming the field ("publishedAt missing"); "" when it could */
} sp_news_article;

typedef int (*sp_news_article_fn)(void *arg, const sp_news_article *article, sp_error *err);

/* Canonical form of `url` into `out` (reset first), SPEC §7: scheme and host
 * lower-cased, default port (80 for http, 443 for https) dropped, fragment dropped,
 * `utm_*` query parameters removed (case-insensitive), the others kept in order, no
 * `?` when none remain, path unchanged.  SP_ERR_INVALID when `url` has no
 * "scheme://host"; SP_ERR_NOMEM. */
int sp_news_canonical_url(const char *url, sp_buf *out);

/* article_id of `url`: hex SHA-256 of its canonical form.  Returns 0 or as above. */
int sp_news_article_id(const char *url, char id[SP_SHA256_HEX_LEN + 1]);

/* Set of (article_id, ticker) pairs emitted in a round. */
struct sp_source_news_seen;
int sp_news_seen_new(struct sp_source_news_seen **out);
void sp_news_seen_free(struct sp_source_news_seen *seen);
/* Add the pair; *fresh tells whether it was new.  Returns 0 or SP_ERR_NOMEM. */
int sp_news_seen_add(struct sp_source_news_seen *seen, const char *article_id,
                     const char *ticker, bool *fresh);

/* Length of the matchable part of a company name (from its start): up to a '(' or
 * ',' and without trailing legal-form words ("Apple Inc." → 5, "Alphabet Inc.
 * (Class A)" → 8).  Used for name matching and for NewsAPI queries. */
size_t sp_news_company_core_length(const char *name);

/* Call `fn(arg, symbol)` for each company of `companies` whose name occurs in `text`
 * as whole words (legal suffixes such as "Inc.", "Corporation", "plc" are ignored;
 * names shorter than 4 characters, and names that reduce to one generic word such as
 * "News" for "News Corp", are not matched).  Stops at fn's non-zero return. */
int sp_news_match_companies(const char *text, const sp_source_company *companies,
                            size_t ncompanies, int (*fn)(void *arg, const char *symbol),
                            void *arg);

/* Emit the news rows of `article` through ctx: one row per ticker among the
 * provider's own tickers (only those in the round's universe), plus `query_ticker`
 * (the ticker the request was made for, or NULL), plus companies named in the
 * headline or summary.  Sentiment comes from the round's scorer over headline +
 * summary.  An article that cannot make rows goes to the quarantine
 * (sp_source_reject, one record with query_ticker as its ticker and the raw item):
 * its time unreadable (article->unreadable: item_unparseable), its URL missing or not
 * absolute (url_invalid: article_id is the URL's hash), its headline missing or blank
 * (headline_empty).  An article naming no ticker of the round is skipped and counted
 * (sp_source_count_skip, reason "no_tracked_ticker").  Returns 0 or the first error. */
int sp_news_emit_article(sp_source_ctx *ctx, const sp_news_article *article,
                         const char *query_ticker, const char *request, sp_error *err);

/* Adapter for news parsers' callbacks during a round: `target` is a sp_news_target;
 * calls sp_news_emit_article with its context, query ticker and request. */
typedef struct sp_news_target {
  sp_source_ctx *ctx;
  const char *query_ticker; /* or NULL */
  const char *request;
} sp_news_target;
int sp_news_emit_to_target(void *target, const sp_news_article *article, sp_error *err);

/* Fill article->unreadable from the member `name` of the provider's `item` that the
 * parser could not read: "name missing", "name is null" or "name <value> unreadable"
 * (the value as JSON, cut at 80 bytes). */
void sp_news_unreadable(sp_news_article *article, const struct cJSON *item, const char *name);

#endif
