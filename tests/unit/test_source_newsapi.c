/*
 * test_source_newsapi.c — the NewsAPI `everything` parser on the real capture and the
 * documented error bodies, the error-code → action mapping, and rounds through a fake
 * transport: queries by company name, paging ended by maximumResultsReached, a bad
 * key stopping the provider; plus one news round over Finnhub, NewsAPI and Alpha
 * Vantage where the same story from several providers is stored once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/log.h"
#include "core/metrics.h"
#include "core/timeutil.h"
#include "shape_test.h"
#include "source_test.h"
#include "sources/newsapi.h"

#include <string.h>

static void test_parser(void **state) {
  (void)state;
  sp_buf body = SP_BUF_INIT;
  sp_error err;
  long total;
  article_log log = {0};
  read_fixture("real/newsapi/everything-2020-08-09.json", &body);
  assert_int_equal(sp_newsapi_parse_everything((const char *)body.data, body.len, &total, log_article, &log, &err), 0);
  sp_buf_free(&body);
  assert_int_equal(total, 7724);
  assert_int_equal(log.count, 20);
  int64_t t;
  sp_parse_timestamp("2020-08-09T08:46:00Z", &t);
  assert_true(log.published[0] <= INT64_C(1597000000) * SP_US_PER_SEC && log.published[0] > 0);
  assert_true(log.publisher[0][0] != '\0');

  log = (article_log){0};
  read_fixture("newsapi/everything-nvidia.json", &body);
  assert_int_equal(sp_newsapi_parse_everything((const char *)body.data, body.len, &total, log_article, &log, &err), 0);
  sp_buf_free(&body);
  assert_int_equal(log.count, 1); /* [Removed] skipped */
  assert_int_equal(log.null_summaries, 1);
  assert_string_equal(log.publisher[0], "Example Wire");

  struct {
    const char *file;
    int rc;
    sp_newsapi_action action;
    const char *code;
  } errors[] = {{"newsapi/error-apiKeyInvalid.json", SP_ERR_HTTP, SP_NEWSAPI_STOP, "apiKeyInvalid"},
                {"newsapi/error-rateLimited.json", SP_ERR_RATE_LIMIT, SP_NEWSAPI_RETRY, "rateLimited"},
                {"newsapi/error-maximumResultsReached.json", SP_ERR_HTTP, SP_NEWSAPI_NEXT, "maximumResultsReached"},
                {"newsapi/error-parameterInvalid.json", SP_ERR_HTTP, SP_NEWSAPI_SKIP, "parameterInvalid"}};
  for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
    read_fixture(errors[i].file, &body);
    assert_int_equal(sp_newsapi_parse_everything((const char *)body.data, body.len, &total, log_article, &log, &err),
                     errors[i].rc);
    assert_non_null(strstr(err.msg, errors[i].code));
    assert_int_equal(sp_newsapi_action_for(errors[i].code), errors[i].action);
    sp_buf_free(&body);
  }
  assert_int_equal(sp_newsapi_action_for("apiKeyExhausted"), SP_NEWSAPI_STOP);
  assert_int_equal(sp_newsapi_action_for("somethingNew"), SP_NEWSAPI_SKIP);
  const char *bad[] = {"", "{}", "<html>", "{\"status\":\"ok\",\"articles\":{}}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(sp_newsapi_parse_everything(bad[i], strlen(bad[i]), &total, log_article, &log, &err), SP_ERR_PARSE);
}

static const char *credential(void *arg, const char *name) {
  (void)arg;
  if (strcmp(name, "newsapi_key") == 0) return "na-test-key";
  if (strcmp(name, "finnhub_api_key") == 0) return "fh-test-key";
  if (strcmp(name, "alpha_vantage_key") == 0) return "av-test-key";
  return NULL;
}

static const char *const tickers[] = {"AAPL", "MSFT", "NVDA"};
static const sp_source_company companies[] = {{"AAPL", "Apple Inc."}, {"MSFT", "Microsoft"}, {"NVDA", "Nvidia"}};

static void test_round(void **state) {
  (void)state;
  static fake_transport fake;
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/v2/everything?q=%22Apple%22&", 200, "real/newsapi/everything-2020-08-09.json", NULL);
  fake_route_add(&fake, "/v2/everything?q=%22Microsoft%22&", 426, "newsapi/error-maximumResultsReached.json", NULL);
  fake_route_add(&fake, "/v2/everything?q=%22Nvidia%22&", 200, "newsapi/everything-nvidia.json", NULL);
  sp_source_transport t = fake_transport_of(&fake);
  const char *providers[] = {"newsapi"};
  sp_source_round round = {.ds = sp_dataset_get(SP_DS_NEWS), .providers = providers, .nproviders = 1,
                           .tickers = tickers, .ntickers = 3, .companies = companies, .ncompanies = 3,
                           .now_us = INT64_C(1732300000) * SP_US_PER_SEC, .credential = credential, .emit = collect_emitted};
  sp_source_report report;
  sp_error err;
  sp_log_set_level(SP_LOG_OFF);
  /* paging: AAPL's page 2 gets maximumResultsReached, MSFT's only page too: neither fails */
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_string_equal(fake.paths[0], "/v2/everything?q=%22Apple%22&searchIn=title,description&language=en"
                                     "&sortBy=publishedAt&from=2024-11-15T18:26:40&pageSize=100&page=1&apiKey=na-test-key");
  assert_non_null(strstr(fake.paths[1], "q=%22Microsoft%22"));
  assert_non_null(strstr(fake.paths[2], "q=%22Apple%22"));
  assert_non_null(strstr(fake.paths[2], "&page=2&"));
  assert_int_equal(report.providers[0].failures, 0);
  /* 20 Apple-query rows (page 2 is the same capture: same ids, stored once) + 1 Nvidia */
  assert_int_equal(rows.count, 21);
  assert_string_equal(row_text(&rows.rows[20], "ticker"), "NVDA");
  assert_true(row_is_null(&rows.rows[20], "summary")); /* null description */

  /* a bad key stops the provider: no query after the two in flight */
  collected_rows_free(&rows);
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/v2/everything", 401, "newsapi/error-apiKeyInvalid.json", NULL);
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), SP_ERR_HTTP);
  assert_int_equal(fake.npaths, 2);
  assert_non_null(strstr(report.providers[0].first_error.msg, "apiKeyInvalid"));
  assert_int_equal(rows.count, 0);
}

static void test_round_three_providers_one_story(void **state) {
  (void)state;
  static fake_transport fake;
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/api/v1/company-news?symbol=AAPL&", 200, "finnhub/company-news.json", NULL);
  fake_route_add(&fake, "/api/v1/company-news?", 200, NULL, "[]");
  fake_route_add(&fake, "/v2/everything?q=%22Nvidia%22&", 200, "newsapi/everything-nvidia.json", NULL);
  fake_route_add(&fake, "/v2/everything?", 200, NULL, "{\"status\":\"ok\",\"totalResults\":0,\"articles\":[]}");
  fake_route_add(&fake, "/query?function=NEWS_SENTIMENT", 200, "alphavantage/news_sentiment.json", NULL);
  sp_source_transport t = fake_transport_of(&fake);
  const char *providers[] = {"finnhub", "newsapi", "alphavantage"};
  sp_source_round round = {.ds = sp_dataset_get(SP_DS_NEWS), .providers = providers, .nproviders = 3,
                           .tickers = tickers, .ntickers = 3, .companies = companies, .ncompanies = 3,
                           .now_us = INT64_C(1732300000) * SP_US_PER_SEC, .credential = credential, .emit = collect_emitted};
  sp_source_report report;
  sp_error err;
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  /* finnhub: story 1 (AAPL, MSFT by name), story 2 (AAPL), story 3 (AAPL, MSFT) = 5;
   * alphavantage (answered before NewsAPI's third query, for NVDA, is sent): story 1
   * again (already stored by finnhub) and the Nvidia story (NVDA) = 1; newsapi: the
   * Nvidia story again, already stored = 0 */
  assert_int_equal(report.providers[0].rows, 5);
  assert_int_equal(report.providers[1].rows, 0);
  assert_int_equal(report.providers[2].rows, 1);
  assert_int_equal(report.providers[1].requests, 3);
  assert_int_equal(rows.count, 6);
  for (int i = 0; i < rows.count; i++)
    for (int j = i + 1; j < rows.count; j++)
      assert_false(strcmp(row_text(&rows.rows[i], "article_id"), row_text(&rows.rows[j], "article_id")) == 0 &&
                   strcmp(row_text(&rows.rows[i], "ticker"), row_text(&rows.rows[j], "ticker")) == 0);
}

/* Later rounds: an article stored by one provider is not stored again from another. */
static bool stored_identity(void *arg, const char *key, int64_t *value) {
  collected_rows *stored = arg;
  for (int i = 0; i < stored->count; i++) {
    char id[SP_SOURCE_KEY_MAX];
    if (sp_source_row_identity(&stored->rows[i], id) == SP_OK && strcmp(id, key) == 0) {
      *value = 0;
      return true;
    }
  }
  return false;
}

static void test_identity_across_rounds(void **state) {
  (void)state;
  static fake_transport fake;
  static collected_rows stored;
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/api/v1/company-news?symbol=AAPL&", 200, "finnhub/company-news.json", NULL);
  sp_source_transport t = fake_transport_of(&fake);
  const char *finnhub[] = {"finnhub"}, *alphavantage[] = {"alphavantage"};
  sp_source_round round = {.ds = sp_dataset_get(SP_DS_NEWS), .providers = finnhub, .nproviders = 1,
                           .tickers = tickers, .ntickers = 1, .companies = companies, .ncompanies = 3,
                           .now_us = INT64_C(1732300000) * SP_US_PER_SEC, .credential = credential,
                           .get_watermark = stored_identity, .emit = collect_emitted, .arg = &stored};
  sp_source_report report;
  sp_error err;
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  for (int i = 0; i < rows.count; i++) collect_row(&stored, &rows.rows[i]);
  assert_int_equal(stored.count, 5);
  /* the next round asks Alpha Vantage: its copy of story 1 (AAPL, MSFT) is known */
  collected_rows_free(&rows);
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/query?function=NEWS_SENTIMENT", 200, "alphavantage/news_sentiment.json", NULL);
  round.providers = alphavantage;
  round.ntickers = 3;
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_int_equal(rows.count, 1);
  assert_string_equal(row_text(&rows.rows[0], "ticker"), "NVDA");
  char key[SP_SOURCE_KEY_MAX];
  assert_int_equal(sp_source_row_identity(&rows.rows[0], key), 0);
  assert_int_equal(strncmp(key, "news/id/", 8), 0);
  assert_int_equal(sp_source_row_identity(&stored.rows[0], key), 0);
  sp_row other;
  sp_row_init(&other, sp_dataset_get(SP_DS_POLICY));
  assert_int_equal(sp_source_row_identity(&other, key), SP_ERR_NOT_FOUND);
  sp_row_clear(&other);
  collected_rows_free(&stored);
}

/* Odd articles among good ones (issue 10: never a silent drop): the good ones become
 * rows, the odd ones go to the round's reject callback with the rule, a detail naming
 * the field, the article as sent and the request (key redacted); "[Removed]" ones are
 * skipped and counted. */
static void test_odd_articles(void **state) {
  (void)state;
  sp_buf body = SP_BUF_INIT;
  read_fixture("real/newsapi/everything-2020-08-09.json", &body);
  cJSON *root = cJSON_ParseWithLength((const char *)body.data, body.len);
  sp_buf_free(&body);
  cJSON *articles = cJSON_GetObjectItemCaseSensitive(root, "articles");
  assert_int_equal(cJSON_GetArraySize(articles), 20);
  cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetArrayItem(articles, 2), "publishedAt");
  cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(articles, 5), "publishedAt", cJSON_CreateString("yesterday"));
  cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(articles, 7), "url", cJSON_CreateString("not a url"));
  cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(articles, 9), "title", cJSON_CreateString("  "));
  cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(articles, 11), "title", cJSON_CreateString("[Removed]"));
  cJSON_ReplaceItemInObjectCaseSensitive(root, "totalResults", cJSON_CreateNumber(20)); /* one page */
  char *text = cJSON_PrintUnformatted(root);
  char *odd_url = strdup(sp_json_string(cJSON_GetArrayItem(articles, 2), "url"));
  cJSON_Delete(root);

  static fake_transport fake;
  static collected_rows rejected;
  memset(&fake, 0, sizeof fake);
  fake_route_add(&fake, "/v2/everything?q=%22Apple%22&", 200, NULL, text);
  sp_source_transport t = fake_transport_of(&fake);
  const char *providers[] = {"newsapi"};
  sp_source_round round = {.ds = sp_dataset_get(SP_DS_NEWS), .providers = providers, .nproviders = 1,
                           .tickers = tickers, .ntickers = 1, .companies = companies, .ncompanies = 3,
                           .now_us = INT64_C(1732300000) * SP_US_PER_SEC, .credential = credential, .emit = collect_emitted,
                           .reject = collect_round_reject, .arg = &rejected};
  sp_source_report report;
  sp_error err;
  uint64_t removed = sp_metrics_items_skipped("newsapi", "removed");
  assert_int_equal(sp_source_collect(&t, &round, &report, &err), 0);
  assert_int_equal(rows.count, 15);
  assert_int_equal(rejected.nrejects, 4);
  assert_int_equal(sp_metrics_items_skipped("newsapi", "removed"), removed + 1);
  const char *want[][2] = {{"item_unparseable", "publishedAt missing"},
                           {"item_unparseable", "publishedAt \"yesterday\" unreadable"},
                           {"url_invalid", "url \"not a url\" is not an absolute URL (scheme://host)"},
                           {"headline_empty", "headline is blank"}};
  for (int i = 0; i < 4; i++) {
    collected_reject *r = &rejected.rejects[i];
    assert_string_equal(r->rule, want[i][0]);
    assert_string_equal(r->detail, want[i][1]);
    assert_true(r->has_row);
    assert_string_equal(row_text(&r->row, "provider"), "newsapi");
    assert_string_equal(row_text(&r->row, "ticker"), "AAPL");
    assert_int_equal(row_int64(&r->row, "collected_at"), round.now_us);
    assert_non_null(strstr(r->request, "/v2/everything?q=%22Apple%22&"));
    assert_null(strstr(r->request, "na-test-key"));
    assert_non_null(r->raw);
    cJSON *sent = cJSON_Parse(r->raw); /* the article as the provider sent it */
    assert_non_null(sent);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(sent, "source"));
    cJSON_Delete(sent);
  }
  assert_true(row_is_null(&rejected.rejects[0].row, "published_at"));
  assert_string_equal(row_text(&rejected.rejects[0].row, "url"), odd_url);
  assert_non_null(strstr(rejected.rejects[0].raw, "\"url\":\""));
  assert_null(strstr(rejected.rejects[0].raw, "publishedAt"));
  assert_true(row_is_null(&rejected.rejects[2].row, "article_id")); /* no URL to hash */
  assert_false(row_is_null(&rejected.rejects[3].row, "article_id"));
  collected_rows_free(&rejected);
  free(odd_url);
  cJSON_free(text);
}

/* ---- response shape changes (sources/shape.h) ------------------------------------------ */

static void test_shape_changes(void **state) {
  (void)state;
  const char *real = "real/newsapi/everything-2020-08-09.json";
  shape_assert_unchanged(real, &sp_newsapi_everything_shape);
  sp_shape_report r;
  const shape_edit edits[] = {{"articles[*].publishedAt", SHAPE_RENAME, "published"},
                              {"totalResults", SHAPE_SET, "\"7724\""},
                              {"articles[*].source", SHAPE_SET, "\"Cdr.cz\""}};
  shape_check_reshaped(real, edits, 3, &sp_newsapi_everything_shape, &r);
  assert_string_equal(r.text, "\"totalResults\" is string, expected number; missing field \"articles[*].publishedAt\"; "
                              "\"articles[*].source\" is string, expected object");
  assert_true(r.required_changed);
  shape_check_reshaped(real, edits + 2, 1, &sp_newsapi_everything_shape, &r);
  assert_false(r.required_changed); /* publisher stored null */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shape_changes),
      cmocka_unit_test(test_parser),
      cmocka_unit_test_teardown(test_odd_articles, teardown_rows),
      cmocka_unit_test_teardown(test_round, teardown_rows),
      cmocka_unit_test_teardown(test_round_three_providers_one_story, teardown_rows),
      cmocka_unit_test_teardown(test_identity_across_rounds, teardown_rows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
