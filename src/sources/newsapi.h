/*
 * newsapi.h — NewsAPI.org (key `newsapi_key`): `everything` searches per company.
 * Pure parser plus `sp_source_newsapi` (see newsapi.c).
 */
#ifndef STOCKPIPE_SOURCES_NEWSAPI_H
#define STOCKPIPE_SOURCES_NEWSAPI_H

#include "sources/news.h"
#include "sources/shape.h"
#include "sources/source.h"

extern const sp_source_provider sp_source_newsapi;

/* The fields the parser reads (sources/shape.h): endpoint "everything". */
extern const sp_shape_spec sp_newsapi_everything_shape;

/* What to do after a NewsAPI error code (the body's "code"). */
typedef enum sp_newsapi_action {
  SP_NEWSAPI_RETRY,        /* rateLimited, unexpectedError: transient */
  SP_NEWSAPI_NEXT,         /* maximumResultsReached: this query is done, not an error */
  SP_NEWSAPI_SKIP,         /* parameterInvalid, sourceDoesNotExist...: this query failed */
  SP_NEWSAPI_STOP          /* apiKeyInvalid/Missing/Disabled/Exhausted: stop the provider */
} sp_newsapi_action;

/* The action for a NewsAPI error code (unknown codes: SKIP). */
sp_newsapi_action sp_newsapi_action_for(const char *code);

/* An `everything` page → one sp_news_article per article (source.name is the
 * publisher, a null description is a null summary, "[Removed]" articles are skipped
 * and counted: sp_source_count_skip "removed"; an article whose publishedAt is
 * missing or unreadable is passed with `unreadable` set, for the quarantine).
 * *total receives totalResults.  Errors: SP_ERR_PARSE, SP_ERR_RATE_LIMIT / SP_ERR_HTTP
 * for a `{"status":"error","code":...}` body (message quotes code and message), fn's. */
int sp_newsapi_parse_everything(const char *body, size_t len, long *total, sp_news_article_fn fn,
                                void *arg, sp_error *err);

#endif
