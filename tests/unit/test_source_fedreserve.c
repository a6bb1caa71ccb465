/*
 * test_source_fedreserve.c — RFC 822 dates, the press-release RSS parser (BOM, CDATA,
 * categories, refused entity declarations), the FOMC calendar page and the shipped
 * calendar file, and policy rounds through a fake transport, including the fallback
 * to config/fomc_calendar.csv when the page fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/log.h"
#include "core/market_calendar.h"
#include "core/timeutil.h"
#include "shape_test.h"
#include "source_test.h"
#include "sources/fedreserve.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t utc(int y, unsigned m, unsigned d, int hh, int mm, int ss) {
  return ((int64_t)sp_days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss) * SP_US_PER_SEC;
}

static void test_rfc822(void **state) {
  (void)state;
  int64_t t;
  assert_int_equal(sp_parse_rfc822_date("Wed, 18 Dec 2024 19:00:00 GMT", &t), 0);
  assert_int_equal(t, utc(2024, 12, 18, 19, 0, 0));
  assert_int_equal(sp_parse_rfc822_date("Thu, 12 Dec 2024 16:30:00 -0500", &t), 0);
  assert_int_equal(t, utc(2024, 12, 12, 21, 30, 0));
  assert_int_equal(sp_parse_rfc822_date("12 Dec 24 16:30 EDT", &t), 0);
  assert_int_equal(t, utc(2024, 12, 12, 20, 30, 0));
  assert_int_equal(sp_parse_rfc822_date("  Mon, 01 Jan 2024 00:00:05 +0130", &t), 0);
  assert_int_equal(t, utc(2023, 12, 31, 22, 30, 5));
  assert_int_equal(sp_parse_rfc822_date("Thu, 07 Nov 2024 19:00:00 Z", &t), 0);
  assert_int_equal(sp_parse_rfc822_date("Thu, 07 Nov 2024 19:00:00", &t), 0); /* no zone: UTC */
  assert_int_equal(t, utc(2024, 11, 7, 19, 0, 0));
  const char *bad[] = {"", "yesterday", "31 Feb 2024 10:00:00 GMT", "01 Foo 2024 10:00 GMT",
                       "01 Jan 2024 25:00 GMT", "01 Jan 2024 10:00 XYZ", NULL};
  for (int i = 0; bad[i]; i++) assert_int_equal(sp_parse_rfc822_date(bad[i], &t), SP_ERR_INVALID);
  assert_int_equal(sp_parse_rfc822_date(NULL, &t), SP_ERR_INVALID);
}

static int parse_rss_file(const char *file, const char *type, sp_error *err) {
  sp_buf body = SP_BUF_INIT;
  read_fixture(file, &body);
  int rc = sp_fedreserve_parse_rss((const char *)body.data, body.len, type, collect_parsed, collect_bad, &rows, err);
  sp_buf_free(&body);
  return rc;
}

static void test_rss(void **state) {
  (void)state;
  sp_error err;
  assert_int_equal(parse_rss_file("fedreserve/press_all.xml", "press_release", &err), 0);
  assert_int_equal(rows.count, 3);
  /* the undated item makes no row: to the quarantine, with its XML */
  assert_int_equal(rows.nrejects, 1);
  assert_string_equal(rows.rejects[0].rule, "item_unparseable");
  assert_string_equal(rows.rejects[0].detail, "pubDate missing");
  assert_string_equal(rows.rejects[0].raw, "<item><link>https://www.federalreserve.gov/newsevents/pressreleases/"
                                           "undated.htm</link><title>Undated</title></item>");
  const sp_row *r = &rows.rows[0];
  assert_string_equal(row_text(r, "event_type"), "monetary_policy"); /* its category */
  assert_string_equal(row_text(r, "title"), "Federal Reserve issues FOMC statement");
  assert_string_equal(row_text(r, "url"), "https://www.federalreserve.gov/newsevents/pressreleases/monetary20241218a.htm");
  assert_int_equal(row_int64(r, "event_time"), utc(2024, 12, 18, 19, 0, 0));
  assert_non_null(strstr(row_text(r, "details"), "\"category\":\"Monetary Policy\""));
  /* CDATA title, other categories are press releases */
  assert_string_equal(row_text(&rows.rows[1], "title"),
                      "Agencies release list of distressed or underserved nonmetropolitan middle-income geographies");
  assert_string_equal(row_text(&rows.rows[1], "event_type"), "press_release");
  assert_int_equal(row_int64(&rows.rows[2], "event_time"), utc(2024, 12, 12, 21, 30, 0));
  /* the same release in the monetary feed is the same event */
  assert_int_equal(parse_rss_file("fedreserve/press_monetary.xml", "monetary_policy", &err), 0);
  assert_int_equal(rows.count, 5);
  assert_string_equal(row_text(&rows.rows[3], "event_id"), row_text(&rows.rows[0], "event_id"));
}

static void test_rss_hostile_and_broken(void **state) {
  (void)state;
  sp_error err;
  const char *xxe = "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
                    "<rss version=\"2.0\"><channel><item><title>&xxe;</title><link>https://x/a</link>"
                    "<pubDate>Wed, 18 Dec 2024 19:00:00 GMT</pubDate></item></channel></rss>";
  assert_int_equal(sp_fedreserve_parse_rss(xxe, strlen(xxe), "press_release", collect_parsed, collect_bad, &rows, &err),
                   SP_ERR_PARSE);
  assert_non_null(strstr(err.msg, "entities"));
  const char *lol = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>"
                    "<rss><channel><item><title>&lol2;</title></item></channel></rss>";
  assert_int_equal(sp_fedreserve_parse_rss(lol, strlen(lol), "press_release", collect_parsed, collect_bad, &rows, &err),
                   SP_ERR_PARSE);
  const char *bad[] = {"", "<html><body>Service unavailable</body></html>", "<rss><channel><item>",
                       "{\"json\":true}", "<feed xmlns=\"http://www.w3.org/2005/Atom\"></feed>"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(sp_fedreserve_parse_rss(bad[i], strlen(bad[i]), "press_release", collect_parsed, collect_bad, &rows, &err),
                     SP_ERR_PARSE);
  const char *empty = "<rss version=\"2.0\"><channel><title>x</title></channel></rss>";
  assert_int_equal(sp_fedreserve_parse_rss(empty, strlen(empty), "press_release", collect_parsed, collect_bad, &rows, &err), 0);
  assert_int_equal(rows.count, 0);
}

static void test_fomc_page_and_file(void **state) {
  (void)state;
  sp_buf body = SP_BUF_INIT;
  read_fixture("fedreserve/fomccalendars.htm", &body);
  sp_error err;
  int meetings;
  assert_int_equal(sp_fedreserve_parse_fomc_page((const char *)body.data, body.len, collect_parsed, collect_bad, &rows,
                                                 &meetings, &err), 0);
  sp_buf_free(&body);
  assert_int_equal(meetings, 24); /* 8 a year; the notation vote is not a meeting */
  assert_int_equal(rows.count, 24);
  /* 2026-01-28 14:00 New York (EST) = 19:00 UTC */
  const sp_row *r = &rows.rows[0];
  assert_string_equal(row_text(r, "event_type"), "fomc_meeting");
  assert_int_equal(row_int64(r, "event_time"), utc(2026, 1, 28, 19, 0, 0));
  assert_string_equal(row_text(r, "title"), "FOMC meeting 2026-01-27 to 2026-01-28");
  assert_string_equal(row_text(r, "details"), "{\"start\":\"2026-01-27\",\"end\":\"2026-01-28\",\"projections\":false}");
  assert_non_null(strstr(row_text(&rows.rows[1], "details"), "\"projections\":true"));
  /* Apr/May 30-1 of 2024, in daylight time: 18:00 UTC */
  const sp_row *aprmay = &rows.rows[18];
  assert_string_equal(row_text(aprmay, "title"), "FOMC meeting 2024-04-30 to 2024-05-01");
  assert_int_equal(row_int64(aprmay, "event_time"), utc(2024, 5, 1, 18, 0, 0));

  /* the shipped calendar agrees with the page for the years both cover */
  static collected_rows from_file;
  char path[1024];
  snprintf(path, sizeof path, "%s/config/fomc_calendar.csv", getenv("STOCKPIPE_SOURCE_DIR"));
  assert_int_equal(sp_fedreserve_parse_fomc_file(path, collect_parsed, &from_file, &meetings, &err), 0);
  assert_int_equal(meetings, 32);
  int matched = 0;
  for (int i = 0; i < rows.count; i++)
    for (int j = 0; j < from_file.count; j++)
      if (strcmp(row_text(&rows.rows[i], "event_id"), row_text(&from_file.rows[j], "event_id")) == 0) {
        assert_string_equal(row_text(&rows.rows[i], "details"), row_text(&from_file.rows[j], "details"));
        matched++;
      }
  assert_int_equal(matched, 24);
  collected_rows_free(&from_file);

  /* a page that is not the calendar: 0 meetings (the caller falls back) */
  const char *other = "<html><body><h4>2024 FOMC Meetings</h4><p>moved</p></body></html>";
  assert_int_equal(sp_fedreserve_parse_fomc_page(other, strlen(other), collect_parsed, collect_bad, &rows, &meetings, &err), 0);
  assert_int_equal(meetings, 0);
  assert_int_equal(sp_fedreserve_parse_fomc_file("/nonexistent/fomc.csv", collect_parsed, &rows, &meetings, &err),
                   SP_ERR_IO);
}

static void test_fomc_file_errors(void **state) {
  (void)state;
  char path[] = "/tmp/test_fomc_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *text = "# comment\nstart,end,sep\n2024-01-30,2024-01-31,0\n2024-13-01,2024-13-02,1\n";
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  sp_error err;
  int meetings;
  assert_int_equal(sp_fedreserve_parse_fomc_file(path, collect_parsed, &rows, &meetings, &err), SP_ERR_PARSE);
  assert_non_null(strstr(err.msg, ":4:"));
  assert_int_equal(meetings, 1);
  unlink(path);
}

static void test_round(void **state) {
  (void)state;
  static fake_transport fake;
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/feeds/press_all.xml", 200, "fedreserve/press_all.xml", NULL);
  fake_route_add(&fake, "/feeds/press_monetary.xml", 200, "fedreserve/press_monetary.xml", NULL);
  fake_route_add(&fake, "/monetarypolicy/fomccalendars.htm", 200, "fedreserve/fomccalendars.htm", NULL);
  sp_source_transport t = fake_transport_of(&fake);
  const char *providers[] = {"fedreserve"};
  char config_dir[1024];
  snprintf(config_dir, sizeof config_dir, "%s/config", getenv("STOCKPIPE_SOURCE_DIR"));
  sp_source_round round = {.ds = sp_dataset_get(SP_DS_POLICY), .providers = providers, .nproviders = 1,
                           .now_us = utc(2024, 12, 20, 0, 0, 0), .emit = collect_emitted, .config_dir = config_dir};
  sp_source_report report;
  sp_error err;
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_int_equal(report.providers[0].requests, 3);
  /* 3 from press_all + 1 new from press_monetary (the other is the same event) + 24 meetings */
  assert_int_equal(rows.count, 3 + 1 + 24);

  /* the calendar page fails: the shipped file stands in, the round still succeeds */
  collected_rows_free(&rows);
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/monetarypolicy/fomccalendars.htm", 503, NULL, "<html>Service Unavailable</html>");
  const char *types[] = {"fomc_meeting"};
  round.series = types;
  round.nseries = 1;
  sp_log_set_level(SP_LOG_OFF);
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_int_equal(report.providers[0].failures, 0);
  assert_int_equal(rows.count, 32);
  /* a page that is not understood: also the file */
  collected_rows_free(&rows);
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/monetarypolicy/fomccalendars.htm", 200, NULL, "<html><body>redesigned</body></html>");
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_int_equal(rows.count, 32);
  /* and without the file: a failure naming it */
  collected_rows_free(&rows);
  round.config_dir = "/nonexistent";
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), SP_ERR_IO);
  assert_non_null(strstr(report.providers[0].first_error.msg, "/nonexistent/fomc_calendar.csv"));
}

/* ---- response shape changes (sources/shape.h) ------------------------------------------ */

/* The feed fixture with every `from` replaced by `to`. */
static void check_feed_replaced(const char *from, const char *to, sp_shape_report *r) {
  sp_buf body = SP_BUF_INIT, out = SP_BUF_INIT;
  read_fixture("fedreserve/press_all.xml", &body);
  const char *p = (const char *)body.data, *hit;
  while ((hit = strstr(p, from))) {
    sp_buf_append(&out, p, (size_t)(hit - p));
    sp_buf_append_str(&out, to);
    p = hit + strlen(from);
  }
  sp_buf_append_str(&out, p);
  sp_fedreserve_check_rss((const char *)out.data, out.len, r);
  sp_buf_free(&body);
  sp_buf_free(&out);
}

static void test_shape_changes(void **state) {
  (void)state;
  /* no permissively licensed capture exists: the documented RSS 2.0 shape */
  sp_shape_report r;
  check_feed_replaced("\x01", "", &r);
  assert_int_equal(r.nchanges, 0);
  check_feed_replaced("pubDate>", "published>", &r);
  assert_string_equal(r.text, "missing field \"rss.channel.item.pubDate\"");
  assert_true(r.required_changed);
  check_feed_replaced("description>", "summary>", &r);
  assert_string_equal(r.text, "missing field \"rss.channel.item.description\"");
  assert_false(r.required_changed);
  check_feed_replaced("channel>", "feed>", &r);
  assert_string_equal(r.text, "missing field \"rss.channel\"");
  /* an HTML page is no feed: the parser says so, not the shape check */
  sp_buf page = SP_BUF_INIT;
  read_fixture("fedreserve/fomccalendars.htm", &page);
  sp_fedreserve_check_rss((const char *)page.data, page.len, &r);
  assert_int_equal(r.nchanges, 0);
  sp_buf_free(&page);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shape_changes),
      cmocka_unit_test(test_rfc822),
      cmocka_unit_test_teardown(test_rss, teardown_rows),
      cmocka_unit_test_teardown(test_rss_hostile_and_broken, teardown_rows),
      cmocka_unit_test_teardown(test_fomc_page_and_file, teardown_rows),
      cmocka_unit_test_teardown(test_fomc_file_errors, teardown_rows),
      cmocka_unit_test_teardown(test_round, teardown_rows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
