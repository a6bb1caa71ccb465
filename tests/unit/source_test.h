/*
 * source_test.h — the frame the provider unit tests (test_source_*.c) share: the rows
 * a test program's parsers and rounds collect (emptied after each test by
 * teardown_rows), a round emit callback keeping them that checks no request shows a
 * test key, and a log of the articles a news parser hands over.  Header-only like
 * fake_transport.h (which it includes); include it after <cmocka.h>.
 */
#ifndef STOCKPIPE_TESTS_SOURCE_TEST_H
#define STOCKPIPE_TESTS_SOURCE_TEST_H

#include "fake_transport.h"
#include "sources/news.h"

#include <stdio.h>
#include <string.h>

/* The rows collected by the program's parsers (collect_parsed, &rows) and rounds. */
static collected_rows rows;

/* A cmocka teardown: empties `rows` after a test. */
static inline int teardown_rows(void **state) {
  (void)state;
  collected_rows_free(&rows);
  return 0;
}

/* A round's emit callback: keeps the row in `rows`.  The request it came from must not
 * show a credential: the tests' keys all end in "test-key" and sources redact them. */
static inline int collect_emitted(void *arg, const sp_row *row, const char *request, sp_error *err) {
  (void)arg, (void)err;
  assert_null(strstr(request, "test-key"));
  return collect_row(&rows, row);
}

#define ARTICLE_LOG_MAX 8

/* What a news parser handed over: how many articles and how many had no summary, and
 * for the first ARTICLE_LOG_MAX of them their tickers (each followed by a space), the
 * provider's sentiment for the first ticker (0 without tickers), publication time,
 * publisher ("" when none) and whether the summary was null. */
typedef struct article_log {
  int count, null_summaries;
  char tickers[ARTICLE_LOG_MAX][64];
  double first_sentiment[ARTICLE_LOG_MAX];
  int64_t published[ARTICLE_LOG_MAX];
  char publisher[ARTICLE_LOG_MAX][64];
  bool summary_null[ARTICLE_LOG_MAX];
} article_log;

/* A news parser's article callback appending to the article_log `arg`. */
static inline int log_article(void *arg, const sp_news_article *a, sp_error *err) {
  (void)err;
  article_log *l = arg;
  l->null_summaries += a->summary == NULL;
  if (l->count < ARTICLE_LOG_MAX) {
    int i = l->count;
    size_t used = 0;
    l->tickers[i][0] = '\0';
    for (int t = 0; t < a->ntickers && used < sizeof l->tickers[i]; t++)
      used += (size_t)snprintf(l->tickers[i] + used, sizeof l->tickers[i] - used, "%s ", a->tickers[t]);
    l->first_sentiment[i] = a->ntickers ? a->provider_sentiment[0] : 0;
    l->published[i] = a->published_at;
    snprintf(l->publisher[i], sizeof l->publisher[i], "%s", a->publisher ? a->publisher : "");
    l->summary_null[i] = a->summary == NULL;
  }
  l->count++;
  return 0;
}

#endif
