/*
 * fuzz_sources.c — fuzz target for every provider parser (and the canonical-URL and
 * RFC 822 date helpers they rely on), each followed by the shape check of its endpoint
 * (sources/shape.h).  The first input byte picks the parser, the rest is the response body.  Parsers must never crash, leak or read out of bounds, a
 * row they emit must carry its dataset's key columns, and an item they reject its rule and text.
 *
 * Two ways to run it:
 *  - libFuzzer (coverage-guided):
 *      clang -g -O1 -fsanitize=fuzzer,address,undefined -DSTOCKPIPE_LIBFUZZER -D_GNU_SOURCE \
 *        -Iinclude -Isrc -I/usr/include/cjson -I/usr/include/libxml2 tests/tools/c/fuzz_sources.c \
 *        build-clang/libstockpipe.a <the libraries CMake links it with> -o fuzz_sources
 *      (libstockpipe.a built with clang: CC=clang cmake -S . -B build-clang)
 *      ./fuzz_sources -max_total_time=60 corpus/
 *  - as built by CMake (every tests/tools/c file is a helper binary): a deterministic mutation run over the
 *    fixtures, used by tests/integration/test_fuzz_sources.sh (and under ASan by
 *    `make test`):  fuzz_sources FIXTURES_DIR ITERATIONS [SEED]
 */
#include "core/log.h"
#include "core/timeutil.h"
#include "sources/alphavantage.h"
#include "sources/fedreserve.h"
#include "sources/finnhub.h"
#include "sources/fred.h"
#include "sources/newsapi.h"
#include "sources/news.h"
#include "sources/treasury.h"
#include "sources/worldbank.h"
#include "sources/yahoo.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A parsed row must hold its key columns (and so a watermark). */
static int check_row(void *arg, sp_row *row, sp_error *err) {
  (void)arg;
  (void)err;
  char key[SP_SOURCE_KEY_MAX];
  int64_t value;
  bool partial = row->ds->id == SP_DS_FINANCIAL_DATA &&
                 row->values[sp_row_col(row, "quote_time")].is_null; /* fundamentals */
  if (!partial && row->ds->id != SP_DS_NEWS && row->ds->id != SP_DS_POLICY) {
    /* provider/collected_at are set by sp_source_emit, not by parsers */
    sp_row_set_cstr(row, sp_row_col(row, "provider"), "fuzz");
    if (sp_source_row_watermark(row, key, &value) != SP_OK) abort();
  }
  return SP_OK;
}

/* A bad item must name its rule and hold its text (printed, as the quarantine does). */
static int check_bad(void *arg, const sp_source_bad_item *item, sp_error *err) {
  (void)arg;
  (void)err;
  if (!item->rule || !item->detail || (!item->json && !item->text)) abort();
  char *printed = item->json ? cJSON_PrintUnformatted(item->json) : NULL;
  if (item->json && !printed) abort();
  cJSON_free(printed);
  return SP_OK;
}

static int check_article(void *arg, const sp_news_article *a, sp_error *err) {
  (void)arg;
  (void)err;
  if (a->ntickers < 0 || a->ntickers > SP_NEWS_MAX_TICKERS) abort();
  if (a->unreadable[0] && !a->raw) abort(); /* an unreadable article is quarantined with its text */
  char id[SP_SHA256_HEX_LEN + 1];
  if (a->url) sp_news_article_id(a->url, id);
  return SP_OK;
}

enum { TARGETS = 19 };

/* The field table checked after each parser (NULL: none). */
static const sp_shape_spec *target_shape(int target) {
  switch (target) {
  case 0: return &sp_yahoo_quote_shape;
  case 1:
  case 2: return &sp_yahoo_chart_shape;
  case 3:
  case 4: return &sp_fred_observations_shape;
  case 5: return &sp_fred_release_dates_shape;
  case 6: return &sp_worldbank_indicator_shape;
  case 7: return &sp_treasury_debt_shape;
  case 10: return &sp_alphavantage_overview_shape;
  case 12: return &sp_alphavantage_news_shape;
  case 13: return &sp_alphavantage_treasury_shape;
  case 14: return &sp_finnhub_news_shape;
  case 15: return &sp_finnhub_metric_shape;
  case 16: return &sp_newsapi_everything_shape;
  default: return NULL;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  /* parsers take NUL-terminated bodies (as the HTTP client hands them over) */
  char *body = malloc(size);
  if (!body) return 0;
  memcpy(body, data + 1, size - 1);
  body[size - 1] = '\0';
  size_t len = size - 1;
  sp_error err;
  sp_source_page page;
  int meetings;
  long total;
  int64_t t;
  char text[256];
  sp_buf canon = SP_BUF_INIT;
  sp_shape_report shape;
  int target = data[0] % TARGETS;
  if (target_shape(target)) sp_shape_check_body(body, len, target_shape(target), &shape);
  if (target == 8) sp_fedreserve_check_rss(body, len, &shape);
  switch (target) {
  case 0: sp_yahoo_parse_quote(body, len, "AAPL", check_row, NULL, &err); break;
  case 1: sp_yahoo_parse_bars(body, len, "AAPL", "1h", 0, 0, INT64_MAX / 2, check_row, check_bad, NULL, &err); break;
  case 2: sp_yahoo_parse_bars(body, len, "AAPL", "1d", 0, 0, INT64_MAX / 2, check_row, check_bad, NULL, &err); break;
  case 3: sp_fred_parse_observations(body, len, sp_fred_series_for("inflation_rate"), &page, check_row, NULL, &err); break;
  case 4: sp_fred_parse_rate_decisions(body, len, body, len, true, check_row, NULL, &err); break;
  case 5: sp_fred_parse_release_dates(body, len, &page, check_row, check_bad, NULL, &err); break;
  case 6: sp_worldbank_parse_indicator(body, len, "gdp_growth", NULL, &page, check_row, NULL, &err); break;
  case 7: sp_treasury_parse_debt_to_penny(body, len, &page, check_row, NULL, &err); break;
  case 8: sp_fedreserve_parse_rss(body, len, "press_release", check_row, check_bad, NULL, &err); break;
  case 9: sp_fedreserve_parse_fomc_page(body, len, check_row, check_bad, NULL, &meetings, &err); break;
  case 10: sp_alphavantage_parse_overview(body, len, "IBM", check_row, NULL, &err); break;
  case 11: sp_alphavantage_parse_global_quote(body, len, check_row, NULL, &err); break;
  case 12: sp_alphavantage_parse_news_sentiment(body, len, check_article, NULL, &err); break;
  case 13: sp_alphavantage_parse_treasury_yield(body, len, "10year", check_row, NULL, &err); break;
  case 14: sp_finnhub_parse_company_news(body, len, check_article, NULL, &err); break;
  case 15: sp_finnhub_parse_metric(body, len, "AAPL", check_row, NULL, &err);
    sp_finnhub_parse_quote(body, len, "AAPL", check_row, NULL, &err);
    break;
  case 16: sp_newsapi_parse_everything(body, len, &total, check_article, NULL, &err); break;
  case 17: sp_news_canonical_url(body, &canon);
    sp_parse_rfc822_date(body, &t);
    break;
  case 18: sp_yahoo_explain_error(body, len, text, sizeof text);
    sp_alphavantage_explain_error(body, len, text, sizeof text);
    sp_fred_explain_error(body, len, text, sizeof text);
    break;
  }
  sp_buf_free(&canon);
  free(body);
  return 0;
}

#ifndef STOCKPIPE_LIBFUZZER
/* ---- the deterministic mutation run ---------------------------------------------------- */

static const struct {
  int target;
  const char *file;
} seeds[] = {
    {0, "real/yahoo/chart-AAPL-1d-2020-01-02.json"},
    {1, "real/yahoo/chart-AAPL-1m-intraday-2024-10-02.json"},
    {2, "real/yahoo/chart-AAPL-1d-split-dividend-2020-08-31-to-2020-11-06.json"},
    {1, "real/yahoo/chart-BEKE-400-data-does-not-exist.json"},
    {3, "real/fred/series_observations-GNPCA-limit20.json"},
    {3, "fred/series_observations-DGS10.json"},
    {4, "fred/series_observations-DFEDTARU.json"},
    {5, "fred/releases_dates.json"},
    {6, "real/worldbank/indicator-NY.GNP.PCAP.CD-US-1990-1997.json"},
    {6, "worldbank/error-120-invalid-value.json"},
    {7, "treasury/debt_to_penny.json"},
    {8, "fedreserve/press_all.xml"},
    {9, "fedreserve/fomccalendars.htm"},
    {10, "real/alphavantage/overview-IBM.json"},
    {11, "real/alphavantage/global_quote-MSFT.json"},
    {12, "alphavantage/news_sentiment.json"},
    {13, "alphavantage/treasury_yield.json"},
    {14, "finnhub/company-news.json"},
    {15, "finnhub/metric.json"},
    {16, "real/newsapi/everything-2020-08-09.json"},
    {18, "alphavantage/error-note-rate-limit.json"},
};

static uint64_t rng_state;
static uint64_t next_random(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1DULL;
}

static int read_file(const char *path, sp_buf *out) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return -1;
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) sp_buf_append(out, chunk, n);
  fclose(fp);
  return 0;
}

/* One mutation of `in` into `out` (which gets the target byte first). */
static void mutate(int target, const sp_buf *in, sp_buf *out) {
  static const char *const tokens[] = {"null", "\"\"", "{}", "[]", "-1e309", "\".\"", "0", "<![CDATA[",
                                       "&amp;", "\xef\xbb\xbf", "\\u0000", "99999999999999999999"};
  sp_buf_reset(out);
  sp_buf_append_byte(out, (uint8_t)target);
  size_t len = in->len;
  size_t cut = len ? next_random() % len : 0;
  switch (next_random() % 6) {
  case 0: /* truncate */
    sp_buf_append(out, in->data, cut);
    break;
  case 1: /* flip bytes */
    sp_buf_append(out, in->data, len);
    for (int i = 0; i < 1 + (int)(next_random() % 8) && len; i++)
      out->data[1 + next_random() % len] ^= (uint8_t)(1u << (next_random() % 8));
    break;
  case 2: /* insert a token */
    sp_buf_append(out, in->data, cut);
    sp_buf_append_str(out, tokens[next_random() % (sizeof tokens / sizeof tokens[0])]);
    sp_buf_append(out, in->data + cut, len - cut);
    break;
  case 3: { /* delete a span */
    size_t span = len - cut ? next_random() % (len - cut) % 64 : 0;
    sp_buf_append(out, in->data, cut);
    sp_buf_append(out, in->data + cut + span, len - cut - span);
    break;
  }
  case 4: { /* duplicate a span */
    size_t span = len - cut ? next_random() % (len - cut) % 256 : 0;
    sp_buf_append(out, in->data, cut + span);
    sp_buf_append(out, in->data + cut, len - cut);
    break;
  }
  default: /* another parser's input */
    sp_buf_append(out, in->data, len);
    out->data[0] = (uint8_t)(next_random() % TARGETS);
    break;
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s FIXTURES_DIR ITERATIONS [SEED]\n", argv[0]);
    return 2;
  }
  long iterations = atol(argv[2]);
  rng_state = argc > 3 ? strtoull(argv[3], NULL, 10) | 1 : 0x9E3779B97F4A7C15ULL;
  sp_log_set_level(SP_LOG_OFF);
  size_t nseeds = sizeof seeds / sizeof seeds[0];
  sp_buf inputs[sizeof seeds / sizeof seeds[0]];
  for (size_t i = 0; i < nseeds; i++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", argv[1], seeds[i].file);
    inputs[i] = (sp_buf)SP_BUF_INIT;
    if (read_file(path, &inputs[i]) != 0) {
      fprintf(stderr, "fuzz_sources: cannot read %s\n", path);
      return 1;
    }
  }
  sp_buf case_buf = SP_BUF_INIT;
  for (size_t i = 0; i < nseeds; i++) { /* every seed unmutated first */
    mutate(seeds[i].target, &inputs[i], &case_buf);
    sp_buf_reset(&case_buf);
    sp_buf_append_byte(&case_buf, (uint8_t)seeds[i].target);
    sp_buf_append(&case_buf, inputs[i].data, inputs[i].len);
    LLVMFuzzerTestOneInput(case_buf.data, case_buf.len);
  }
  for (long n = 0; n < iterations; n++) {
    size_t s = next_random() % nseeds;
    mutate(seeds[s].target, &inputs[s], &case_buf);
    LLVMFuzzerTestOneInput(case_buf.data, case_buf.len);
  }
  sp_buf_free(&case_buf);
  for (size_t i = 0; i < nseeds; i++) sp_buf_free(&inputs[i]);
  printf("fuzz_sources: %zu seeds, %ld mutated inputs, no crash\n", nseeds, iterations);
  return 0;
}
#endif
