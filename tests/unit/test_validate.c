/*
 * test_validate.c — every validation rule with a row that breaks it and the same row
 * made valid (issue 10), plus the flag rules and the quarantine file format.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/quarantine.h"
#include "core/timeutil.h"
#include "core/validate.h"
#include "core_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void set(sp_row *r, const char *name, const char *text) {
  int c = sp_row_col(r, name);
  assert_true(c >= 0);
  switch (r->ds->columns[c].type) {
  case SP_STRING: assert_int_equal(sp_row_set_cstr(r, c, text), 0); break;
  case SP_DOUBLE: assert_int_equal(sp_row_set_double(r, c, strtod(text, NULL)), 0); break;
  case SP_INT64: assert_int_equal(sp_row_set_i64(r, c, strtoll(text, NULL, 10)), 0); break;
  case SP_TIMESTAMP: assert_int_equal(sp_row_set_i64(r, c, ts_of(text)), 0); break;
  case SP_DATE: assert_int_equal(sp_row_set_i32(r, c, day_of(text)), 0); break;
  default: fail();
  }
}

/* A valid row of each dataset (the round's clock is 2026-11-25T20:00:00Z). */
static void valid_row(sp_row *r, sp_dataset_id id) {
  assert_int_equal(sp_row_init(r, sp_dataset_get(id)), 0);
  set(r, "provider", "test");
  set(r, "collected_at", "2026-11-25T20:00:00Z");
  switch (id) {
  case SP_DS_FINANCIAL_DATA:
    set(r, "ticker", "AAPL"); set(r, "quote_time", "2026-11-25T19:59:00Z"); set(r, "price", "230.5");
    set(r, "previous_close", "229"); break;
  case SP_DS_STOCK_MOVEMENTS: /* Tuesday 2026-11-24, 10:30 New York = 15:30 UTC */
    set(r, "ticker", "AAPL"); set(r, "interval", "1h"); set(r, "bar_time", "2026-11-24T15:30:00Z");
    set(r, "open", "100"); set(r, "high", "102"); set(r, "low", "99"); set(r, "close", "101");
    set(r, "volume", "1000"); break;
  case SP_DS_NEWS:
    set(r, "article_id", SHA); set(r, "ticker", "AAPL"); set(r, "published_at", "2026-11-25T12:00:00Z");
    set(r, "headline", "Apple beats estimates"); set(r, "url", "https://example.com/a?b=1");
    set(r, "sentiment_score", "0.5"); set(r, "sentiment_label", "positive");
    set(r, "sentiment_subjectivity", "0.4"); break;
  case SP_DS_MACROECONOMIC:
    set(r, "indicator", "unemployment_rate"); set(r, "series_id", "UNRATE");
    set(r, "observation_date", "2026-10-01"); set(r, "value", "4.1"); set(r, "unit", "percent");
    set(r, "frequency", "m"); break;
  case SP_DS_POLICY:
    set(r, "event_id", SHA); set(r, "event_type", "fomc_meeting"); set(r, "event_time", "2026-12-09T19:00:00Z");
    set(r, "title", "FOMC meeting"); break;
  default: fail();
  }
}

static const sp_validate_context ctx = {.now_us = INT64_C(1795636800000000)}; /* 2026-11-25T20:00:00Z */

typedef struct rule_case {
  sp_dataset_id ds;
  const char *rule;
  const char *column; /* set column to bad (NULL value = set null) */
  const char *bad;
  const char *column2; /* optional second change */
  const char *bad2;
} rule_case;

static const rule_case cases[] = {
    {SP_DS_FINANCIAL_DATA, "missing_required", "ticker", NULL, NULL, NULL},
    {SP_DS_FINANCIAL_DATA, "non_finite_value", "price", "inf", NULL, NULL},
    {SP_DS_FINANCIAL_DATA, "price_not_positive", "price", "0", NULL, NULL},
    {SP_DS_FINANCIAL_DATA, "price_not_positive", "previous_close", "-3", NULL, NULL},
    {SP_DS_FINANCIAL_DATA, "quote_in_future", "quote_time", "2026-11-25T20:06:00Z", NULL, NULL},
    {SP_DS_STOCK_MOVEMENTS, "interval_invalid", "interval", "5m", NULL, NULL},
    {SP_DS_STOCK_MOVEMENTS, "price_not_positive", "low", "0", NULL, NULL},
    {SP_DS_STOCK_MOVEMENTS, "ohlc_order", "low", "101.5", NULL, NULL},
    /* rules the parser marks in quality_flags; they win over the others */
    {SP_DS_STOCK_MOVEMENTS, "bar_outside_window", "quality_flags", "bar_outside_window", "low", "101.5"},
    {SP_DS_STOCK_MOVEMENTS, "bar_null", "quality_flags", "zero_volume_in_session,bar_null", NULL, NULL},
    {SP_DS_STOCK_MOVEMENTS, "ohlc_order", "high", "100.5", NULL, NULL},
    {SP_DS_STOCK_MOVEMENTS, "volume_negative", "volume", "-1", NULL, NULL},
    {SP_DS_STOCK_MOVEMENTS, "bar_incomplete", "bar_time", "2026-11-25T19:30:00Z", NULL, NULL},
    {SP_DS_STOCK_MOVEMENTS, "bar_not_in_session", "bar_time", "2026-11-22T15:30:00Z", NULL, NULL}, /* Sunday */
    {SP_DS_STOCK_MOVEMENTS, "bar_not_in_session", "bar_time", "2026-11-24T13:30:00Z", NULL, NULL}, /* 08:30 NY */
    {SP_DS_STOCK_MOVEMENTS, "bar_not_in_session", "bar_time", "2025-11-27T14:30:00Z", "interval", "1d"}, /* Thanksgiving 2025 */
    {SP_DS_NEWS, "article_id_invalid", "article_id", "not-a-hash", NULL, NULL},
    {SP_DS_NEWS, "url_invalid", "url", "ftp://example.com/x", NULL, NULL},
    {SP_DS_NEWS, "url_invalid", "url", "https:///nohost", NULL, NULL},
    {SP_DS_NEWS, "headline_empty", "headline", "  \t", NULL, NULL},
    {SP_DS_NEWS, "published_at_implausible", "published_at", "1970-01-01T00:00:00Z", NULL, NULL},
    {SP_DS_NEWS, "published_at_implausible", "published_at", "2026-11-27T00:00:00Z", NULL, NULL},
    {SP_DS_NEWS, "sentiment_out_of_range", "sentiment_score", "1.5", NULL, NULL},
    {SP_DS_NEWS, "sentiment_out_of_range", "sentiment_label", "bullish", NULL, NULL},
    {SP_DS_MACROECONOMIC, "frequency_invalid", "frequency", "monthly", NULL, NULL},
    {SP_DS_MACROECONOMIC, "unit_invalid", "unit", "percent_change", NULL, NULL},
    {SP_DS_MACROECONOMIC, "observation_date_implausible", "observation_date", "1850-01-01", NULL, NULL},
    {SP_DS_MACROECONOMIC, "date_frequency_mismatch", "observation_date", "2026-10-15", NULL, NULL},
    {SP_DS_MACROECONOMIC, "date_frequency_mismatch", "frequency", "a", NULL, NULL},
    {SP_DS_MACROECONOMIC, "date_frequency_mismatch", "frequency", "q", "observation_date", "2026-11-01"},
    {SP_DS_POLICY, "event_id_invalid", "event_id", SHA "00", NULL, NULL},
    {SP_DS_POLICY, "event_type_invalid", "event_type", "speech", NULL, NULL},
    {SP_DS_POLICY, "event_time_implausible", "event_time", "1900-01-01T00:00:00Z", NULL, NULL},
    {SP_DS_POLICY, "event_time_implausible", "event_time", "2031-01-01T00:00:00Z", NULL, NULL},
};

static void test_reject_rules(void **state) {
  (void)state;
  /* every reject rule of the table is exercised */
  size_t nrules;
  const sp_rule_info *rules = sp_validate_rules(&nrules);
  for (size_t k = 0; k < nrules; k++) {
    /* bar_out_of_order needs the series' state: the pipeline checks it (agent.c); parser
     * rules on items that are no rows are tested with their parsers (test_source_*.c) */
    if (rules[k].kind != SP_RULE_REJECT || strcmp(rules[k].name, "bar_out_of_order") == 0 ||
        (rules[k].traits & SP_RULE_ITEM))
      continue;
    bool covered = false;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
      covered |= strcmp(cases[i].rule, rules[k].name) == 0;
    if (!covered) fail_msg("rule %s has no test case", rules[k].name);
  }
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const rule_case *c = &cases[i];
    sp_row good, bad;
    char detail[256];
    valid_row(&good, c->ds);
    const char *verdict = sp_validate_reject(&good, &ctx, detail, sizeof detail);
    if (verdict) fail_msg("case %zu: valid %s row rejected by %s (%s)", i, good.ds->name, verdict, detail);
    valid_row(&bad, c->ds);
    if (c->bad) set(&bad, c->column, c->bad);
    else assert_int_equal(sp_row_set_null(&bad, sp_row_col(&bad, c->column)), 0);
    if (c->column2) set(&bad, c->column2, c->bad2);
    verdict = sp_validate_reject(&bad, &ctx, detail, sizeof detail);
    if (!verdict || strcmp(verdict, c->rule) != 0)
      fail_msg("case %zu: %s=%s: want %s, got %s", i, c->column, c->bad ? c->bad : "null", c->rule,
               verdict ? verdict : "accepted");
    assert_true(detail[0] != '\0');
    sp_row_clear(&good);
    sp_row_clear(&bad);
  }
}

static const char *flags_of(sp_row *r) {
  const sp_value *v = &r->values[sp_row_col(r, "quality_flags")];
  return v->is_null ? NULL : v->u.str.ptr;
}

/* Only reject rules a parser may mark (SP_RULE_MARKED) reject through quality_flags;
 * a flag name or a provider's own note there does not. */
static void test_marked_rules(void **state) {
  (void)state;
  sp_row row;
  valid_row(&row, SP_DS_STOCK_MOVEMENTS);
  set(&row, "quality_flags", "price_jump_100x,ohlc_order,provider_note");
  char detail[256];
  assert_null(sp_validate_reject(&row, &ctx, detail, sizeof detail));
  sp_row_clear(&row);
  const sp_rule_info *outside = sp_validate_rule("bar_outside_window", SP_DS_STOCK_MOVEMENTS);
  assert_non_null(outside);
  assert_true(outside->traits & SP_RULE_MARKED);
  assert_true(outside->traits & SP_RULE_NOT_REQUESTED); /* its watermark does not advance */
  const sp_rule_info *null_bar = sp_validate_rule("bar_null", SP_DS_STOCK_MOVEMENTS);
  assert_non_null(null_bar);
  assert_int_equal(null_bar->traits, SP_RULE_MARKED);
  assert_null(sp_validate_rule("bar_null", SP_DS_NEWS));
  assert_non_null(sp_validate_rule("missing_required", SP_DS_NEWS)); /* every dataset */
}

static void test_flag_rules(void **state) {
  (void)state;
  sp_row r;
  sp_validate_context c = ctx;
  /* clean */
  valid_row(&r, SP_DS_STOCK_MOVEMENTS);
  c.has_previous_close = true;
  c.previous_close = 100.2;
  assert_int_equal(sp_validate_flag(&r, &c), 0);
  assert_null(flags_of(&r));
  /* ~100x: close 101 vs previous 1.01 */
  c.previous_close = 1.01;
  assert_int_equal(sp_validate_flag(&r, &c), 0);
  assert_string_equal(flags_of(&r), "price_jump_100x");
  sp_row_clear(&r);
  /* split-like 1/4, and zero volume inside the session: two flags */
  valid_row(&r, SP_DS_STOCK_MOVEMENTS);
  set(&r, "volume", "0");
  c.previous_close = 404;
  assert_int_equal(sp_validate_flag(&r, &c), 0);
  assert_string_equal(flags_of(&r), "split_like_jump,zero_volume_in_session");
  sp_row_clear(&r);
  /* a 6 % move is not split-like; no previous close, no jump flags */
  valid_row(&r, SP_DS_STOCK_MOVEMENTS);
  c.previous_close = 95.3;
  assert_int_equal(sp_validate_flag(&r, &c), 0);
  assert_null(flags_of(&r));
  c.has_previous_close = false;
  assert_int_equal(sp_validate_flag(&r, &c), 0);
  assert_null(flags_of(&r));
  sp_row_clear(&r);
  /* quotes: price vs previous_close */
  valid_row(&r, SP_DS_FINANCIAL_DATA);
  set(&r, "price", "23050");
  assert_int_equal(sp_validate_flag(&r, &ctx), 0);
  assert_string_equal(flags_of(&r), "price_jump_100x");
  sp_row_clear(&r);
}

static void test_quarantine_file(void **state) {
  (void)state;
  char dir[] = "/tmp/sp_quarantine_XXXXXX";
  assert_non_null(mkdtemp(dir));
  sp_row r;
  valid_row(&r, SP_DS_STOCK_MOVEMENTS);
  set(&r, "low", "105");
  sp_error err;
  assert_int_equal(sp_quarantine_row(dir, &r, ctx.now_us, "ohlc_order", "low 105 > open 100",
                                     "/v8/finance/chart/AAPL?interval=1h", NULL, &err), 0);
  assert_int_equal(sp_quarantine_row(dir, &r, ctx.now_us, "ohlc_order", NULL, NULL, NULL, &err), 0);
  /* a parser's item: the raw text is kept, as a JSON string */
  assert_int_equal(sp_quarantine_row(dir, &r, ctx.now_us, "item_unparseable", "timestamp is null", "/v8/x",
                                     "{\"timestamp\":null}", &err), 0);
  char path[512];
  snprintf(path, sizeof path, "%s/quarantine/stock_movements/2026-11-24/rejected-%ld.jsonl", dir, (long)getpid());
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[4096];
  assert_non_null(fgets(line, sizeof line, f));
  assert_non_null(strstr(line, "\"ticker\":\"AAPL\""));
  assert_non_null(strstr(line, "\"bar_time\":\"2026-11-24T15:30:00Z\""));
  assert_non_null(strstr(line, "\"provider\":\"test\""));
  assert_non_null(strstr(line, ",\"rule\":\"ohlc_order\",\"detail\":\"low 105 > open 100\",\"request\":\"/v8/"));
  assert_non_null(fgets(line, sizeof line, f));
  assert_non_null(strstr(line, "\"detail\":null,\"request\":null}"));
  assert_non_null(fgets(line, sizeof line, f));
  assert_non_null(strstr(line, ",\"rule\":\"item_unparseable\",\"detail\":\"timestamp is null\",\"request\":\"/v8/x\","
                               "\"raw\":\"{\\\"timestamp\\\":null}\"}"));
  assert_null(fgets(line, sizeof line, f));
  fclose(f);
  unlink(path);
  sp_row_clear(&r);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reject_rules),
      cmocka_unit_test(test_marked_rules),
      cmocka_unit_test(test_flag_rules),
      cmocka_unit_test(test_quarantine_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
