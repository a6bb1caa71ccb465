/*
 * test_config.c — the configuration loader: built-in defaults equal SPEC §3 (and
 * config/stockpipe.yaml), a custom pipeline with every component type, each class
 * of error with its exact file:line:column, the error cap, schedules (parsing and
 * next firing time), path resolution, the lookup order and environment overrides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/config_schema.h"
#include "core/credentials.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core_test_util.h"
#include "sources/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static sp_config *load_text(const char *yaml, sp_config_diag *diag) {
  sp_config *cfg = NULL;
  int rc = sp_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, diag);
  if (rc != SP_OK) {
    for (int i = 0; i < diag->count; i++) fprintf(stderr, "  diag: %s\n", diag->messages[i]);
    assert_null(cfg);
  }
  return cfg;
}

/* The YAML `config show` prints (malloc'd). */
static char *config_written(const sp_config *cfg) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  assert_int_equal(sp_config_write_yaml(cfg, f), SP_OK);
  fclose(f);
  return text;
}

/* The same without its first (comment) line. */
static char *config_as_yaml(const sp_config *cfg) {
  char *text = config_written(cfg);
  char *body = strdup(strchr(text, '\n') + 1);
  free(text);
  return body;
}

static void test_defaults_match_spec(void **state) {
  (void)state;
  unsetenv("STOCKPIPE_DATA_DIR");
  sp_config *cfg = NULL;
  sp_config_diag diag;
  assert_int_equal(sp_config_load(NULL, &cfg, &diag), SP_OK);
  assert_null(cfg->file);
  const sp_config_pipeline *p = &cfg->pipeline;
  assert_string_equal(p->data_dir, "./data");
  assert_string_equal(p->credentials, "config/credentials.json");
  assert_string_equal(p->credentials_path, "config/credentials.json");
  assert_int_equal(p->mag7_tickers.count, 7);
  assert_string_equal(p->mag7_tickers.items[0], "AAPL");
  assert_string_equal(p->mag7_tickers.items[6], "TSLA");
  assert_string_equal(p->sp500_file, "config/sp500.csv");
  int64_t retention[] = {90, 90, 60, 365, 730};
  for (int i = 0; i < SP_DS_COUNT; i++) assert_int_equal(p->retention_days[i], retention[i]);
  assert_int_equal(p->log_level, SP_LOG_INFO);
  assert_string_equal(p->log_file, "");
  assert_string_equal(p->http_listen, "127.0.0.1:8765");

  assert_int_equal(cfg->nagents, 2);
  assert_int_equal(cfg->nsources, 5);
  assert_int_equal(cfg->nchannels, 5);
  assert_int_equal(cfg->nsinks, 5);
  const sp_config_agent *raw = sp_config_find_agent(cfg, "raw_data_agent");
  assert_non_null(raw);
  assert_int_equal(raw->sources.count, 3);
  assert_string_equal(raw->sinks.items[2], "news_sink");

  const sp_config_source *fin = sp_config_find_source(cfg, "financial_source");
  assert_int_equal(fin->dataset, SP_DS_FINANCIAL_DATA);
  assert_int_equal(fin->providers.count, 3);
  assert_string_equal(fin->providers.items[1], "alphavantage");
  assert_int_equal(fin->tickers.kind, SP_TICKERS_MAG7);
  assert_int_equal(fin->schedule.kind, SP_SCHEDULE_INTERVAL);
  assert_int_equal(fin->schedule.interval_seconds, 3600);
  assert_string_equal(fin->agent, "raw_data_agent");
  assert_string_equal(fin->channels.items[0], "financial_channel");

  const sp_config_source *mov = sp_config_find_source(cfg, "movement_source");
  assert_int_equal(mov->tickers.kind, SP_TICKERS_SP500);
  assert_int_equal(mov->bar_interval, SP_BAR_1H);
  assert_int_equal(mov->include_indicators.count, 8);
  assert_string_equal(mov->include_indicators.items[6], "bbands");
  assert_int_equal(mov->initial_history_days, 60);

  const sp_config_source *news = sp_config_find_source(cfg, "news_source");
  assert_true(news->sentiment_analysis);
  assert_string_equal(news->providers.items[0], "finnhub");
  const sp_config_source *macro = sp_config_find_source(cfg, "macro_source");
  assert_int_equal(macro->schedule.interval_seconds, 86400);
  assert_int_equal(macro->indicators.count, 5);
  assert_string_equal(macro->agent, "context_data_agent");
  const sp_config_source *policy = sp_config_find_source(cfg, "policy_source");
  assert_int_equal(policy->schedule.interval_seconds, 7 * 86400);
  assert_int_equal(policy->event_types.count, 6);
  assert_string_equal(policy->event_types.items[5], "economic_release");

  const sp_config_channel *fc = sp_config_find_channel(cfg, "financial_channel");
  assert_int_equal(fc->type, SP_CHANNEL_MEMORY);
  assert_int_equal(fc->capacity, 1000);
  assert_int_equal(fc->transaction_capacity, 100);
  assert_string_equal(fc->sink, "financial_sink");
  assert_int_equal(fc->dataset, SP_DS_FINANCIAL_DATA);
  const sp_config_channel *mc = sp_config_find_channel(cfg, "movement_channel");
  assert_int_equal(mc->type, SP_CHANNEL_FILE);
  assert_int_equal(mc->capacity, 100000);
  assert_int_equal(mc->transaction_capacity, 1000);
  assert_string_equal(mc->checkpoint_dir, ".channels/movement/checkpoint");
  assert_string_equal(mc->checkpoint_path, "./data/.channels/movement/checkpoint");
  assert_string_equal(mc->data_path, "./data/.channels/movement/data");
  assert_int_equal(sp_config_find_channel(cfg, "news_channel")->capacity, 5000);

  const sp_config_sink *ms = sp_config_find_sink(cfg, "movement_sink");
  assert_int_equal(ms->type, SP_SINK_FILE);
  assert_string_equal(ms->path, "raw/stock_movements/%Y-%m-%d");
  assert_string_equal(ms->path_template, "./data/raw/stock_movements/%Y-%m-%d");
  assert_string_equal(ms->file_prefix, "sp500_trends_");
  assert_int_equal(ms->format, SP_FORMAT_PARQUET);
  assert_int_equal(ms->compression, SP_COMPRESSION_SNAPPY);
  assert_int_equal(ms->batch_size, 1000);
  assert_string_equal(ms->channel, "movement_channel");
  assert_int_equal(ms->dataset, SP_DS_STOCK_MOVEMENTS);
  const sp_config_sink *ps = sp_config_find_sink(cfg, "policy_sink");
  assert_int_equal(ps->compression, SP_COMPRESSION_ZSTD);
  assert_string_equal(ps->file_prefix, "policy_data_");

  const sp_config_provider *yahoo = sp_config_find_provider(cfg, "yahoo");
  assert_string_equal(yahoo->base_url, "https://query1.finance.yahoo.com");
  assert_int_equal(yahoo->timeout, 30);
  assert_false(yahoo->needs_key);
  assert_true(sp_config_find_provider(cfg, "fred")->needs_key);
  assert_null(sp_config_find_provider(cfg, "bloomberg"));
  sp_config_free(cfg);
}

/* config/stockpipe.yaml (shipped) loads to exactly the built-in defaults, and its
 * data part is the built-in YAML text. */
static void test_shipped_file_equals_builtin(void **state) {
  (void)state;
  unsetenv("STOCKPIPE_DATA_DIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/config/stockpipe.yaml", STOCKPIPE_SOURCE_DIR);
  sp_config *from_file = NULL, *builtin = NULL;
  sp_config_diag diag;
  assert_int_equal(sp_config_load(path, &from_file, &diag), SP_OK);
  assert_int_equal(sp_config_load(NULL, &builtin, &diag), SP_OK);
  char *a = config_as_yaml(from_file), *b = config_as_yaml(builtin);
  assert_string_equal(a, b);
  free(a);
  free(b);
  sp_config_free(from_file);
  sp_config_free(builtin);

  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char *text = NULL;
  size_t cap = 0;
  ssize_t n = getdelim(&text, &cap, '\0', f);
  fclose(f);
  assert_true(n > 0);
  const char *data = strstr(text, "\npipeline:\n");
  assert_non_null(data);
  assert_string_equal(data + 1, sp_config_default_yaml);
  free(text);
}

/* Every table default parses and every row fits the loader's limits. */
static void test_option_tables(void **state) {
  (void)state;
  const sp_option_table *tables[] = {&sp_pipeline_options, &sp_agent_options,  &sp_source_options,
                                     &sp_channel_options,  &sp_sink_options,   &sp_provider_options};
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
    assert_true(tables[t]->count <= SP_OPTION_TABLE_MAX);
    for (size_t i = 0; i < tables[t]->count; i++) {
      const sp_option *o = &tables[t]->options[i];
      assert_non_null(o->help);
      assert_false((o->flags & SP_OPT_REQUIRED) && o->def);
      if (o->type == SP_OPT_ENUM) assert_non_null(o->allowed);
    }
  }
  /* a config exercising every sink and channel type applies all their defaults */
  sp_config_diag diag;
  sp_config *cfg = load_text("agents: {a: {sources: [s], channels: [c1, c2, c3], sinks: [k1, k2, k3]}}\n"
                             "sources: {s: {dataset: news}}\n"
                             "channels: {c1: {type: file}, c2: {type: kafka, brokers: 'h:1', topic: t}, c3: }\n"
                             "sinks: {k1: {type: mongodb, uri: 'mongodb://h'}, k2: {type: kafka, brokers: 'h:1', "
                             "topic: t}, k3: {type: postgresql, connection_string: 'host=h'}}\n"
                             "bindings: {s: [c1, c2, c3], c1: k1, c2: k2, c3: k3}\n",
                             &diag);
  assert_non_null(cfg);
  sp_config_free(cfg);
}

static void test_custom_config(void **state) {
  (void)state;
  unsetenv("STOCKPIPE_DATA_DIR");
  const char *yaml =
      "pipeline:\n"
      "  data_dir: /srv/stock\n"
      "  log: {level: DEBUG}\n"
      "  http: {listen: \"\"}\n"
      "providers:\n"
      "  yahoo: {base_url: \"http://127.0.0.1:9999\", rate_limit: 0.5, timeout: 5}\n"
      "agents:\n"
      "  only:\n"
      "    sources: [bars]\n"
      "    channels: [mem, disk]\n"
      "    sinks: [pq, pg]\n"
      "sources:\n"
      "  bars:\n"
      "    dataset: stock_movements\n"
      "    tickers: [AAPL, BRK-B]\n"
      "    bar_interval: 1d\n"
      "    schedule: \"30 21 * * 1-5\"\n"
      "    include_indicators: [rsi_14]\n"
      "channels:\n"
      "  mem: {capacity: 50, transactionCapacity: 50}\n"
      "  disk: {type: file}\n"
      "sinks:\n"
      "  pq: {format: csv, batch_size: 50}\n"
      "  pg: {type: postgresql, connection_string: \"host=127.0.0.1 dbname=x\"}\n"
      "bindings:\n"
      "  bars: [mem, disk]\n"
      "  mem: pq\n"
      "  disk: pg\n";
  sp_config_diag diag;
  sp_config *cfg = load_text(yaml, &diag);
  assert_non_null(cfg);
  /* pipeline keys not given keep their defaults */
  assert_string_equal(cfg->pipeline.data_dir, "/srv/stock");
  assert_int_equal(cfg->pipeline.log_level, SP_LOG_DEBUG);
  assert_string_equal(cfg->pipeline.http_listen, "");
  assert_int_equal(cfg->pipeline.retention_days[SP_DS_NEWS], 60);
  assert_int_equal(cfg->pipeline.mag7_tickers.count, 7);
  /* the file's graph replaces the default one */
  assert_int_equal(cfg->nagents, 1);
  assert_int_equal(cfg->nsources, 1);
  assert_null(sp_config_find_source(cfg, "financial_source"));
  const sp_config_source *bars = sp_config_find_source(cfg, "bars");
  assert_int_equal(bars->tickers.kind, SP_TICKERS_LIST);
  assert_int_equal(bars->tickers.list.count, 2);
  assert_string_equal(bars->tickers.list.items[1], "BRK-B");
  assert_int_equal(bars->bar_interval, SP_BAR_1D);
  assert_int_equal(bars->initial_history_days, 730);
  assert_int_equal(bars->providers.count, 1); /* per-dataset default */
  assert_string_equal(bars->providers.items[0], "yahoo");
  assert_int_equal(bars->schedule.kind, SP_SCHEDULE_CRON);
  assert_int_equal(bars->channels.count, 2);
  assert_int_equal(bars->mark.line, 13);
  assert_int_equal(bars->mark.column, 3);
  assert_string_equal(bars->mark.file, "t.yaml");
  assert_true(bars->enabled);
  /* derived defaults */
  const sp_config_channel *disk = sp_config_find_channel(cfg, "disk");
  assert_int_equal(disk->capacity, 100);
  assert_string_equal(disk->checkpoint_dir, ".channels/disk/checkpoint");
  assert_string_equal(disk->checkpoint_path, "/srv/stock/.channels/disk/checkpoint");
  assert_int_equal(disk->min_free_disk_mb, 500);
  const sp_config_sink *pq = sp_config_find_sink(cfg, "pq");
  assert_int_equal(pq->type, SP_SINK_FILE);
  assert_int_equal(pq->format, SP_FORMAT_CSV);
  assert_int_equal(pq->compression, SP_COMPRESSION_UNCOMPRESSED);
  assert_string_equal(pq->path, "raw/stock_movements/%Y-%m-%d");
  assert_string_equal(pq->path_template, "/srv/stock/raw/stock_movements/%Y-%m-%d");
  assert_string_equal(pq->file_prefix, "stock_movements_");
  const sp_config_sink *pg = sp_config_find_sink(cfg, "pg");
  assert_string_equal(pg->table, "stock_movements");
  assert_int_equal(pg->batch_size, 100);
  assert_null(pg->path);
  const sp_config_provider *y = sp_config_find_provider(cfg, "yahoo");
  assert_string_equal(y->base_url, "http://127.0.0.1:9999");
  assert_true(y->rate_limit == 0.5);
  assert_int_equal(y->timeout, 5);
  assert_int_equal(y->max_in_flight, 16); /* not given: the default */
  sp_http_provider_settings http = {.name = "yahoo", .base_url = "https://query1.finance.yahoo.com",
                                    .rate_limit = 20, .burst = 20, .max_in_flight = 16, .timeout_ms = 30000};
  sp_config_provider_apply(y, &http);
  assert_string_equal(http.base_url, "http://127.0.0.1:9999");
  assert_true(http.rate_limit == 0.5);
  assert_int_equal(http.max_in_flight, 16);
  assert_int_equal(http.burst, 20);
  assert_int_equal(http.timeout_ms, 5000);

  /* show → load round trip gives the same config */
  char *shown = config_as_yaml(cfg);
  sp_config *again = load_text(shown, &diag);
  assert_non_null(again);
  char *shown_again = config_as_yaml(again);
  assert_string_equal(shown, shown_again);
  free(shown);
  free(shown_again);
  sp_config_free(again);
  sp_config_free(cfg);
}

/* A file with only pipeline settings keeps the default pipeline graph. */
static void test_pipeline_only_file(void **state) {
  (void)state;
  unsetenv("STOCKPIPE_DATA_DIR");
  sp_config_diag diag;
  sp_config *cfg = load_text("pipeline:\n  retention_days: {news: 7}\n", &diag);
  assert_non_null(cfg);
  assert_int_equal(cfg->pipeline.retention_days[SP_DS_NEWS], 7);
  assert_int_equal(cfg->pipeline.retention_days[SP_DS_POLICY], 730);
  assert_int_equal(cfg->nsources, 5);
  assert_string_equal(cfg->sources[0].mark.file, "<built-in defaults>");
  sp_config_free(cfg);
  cfg = load_text("", &diag); /* empty file */
  assert_non_null(cfg);
  assert_int_equal(cfg->nsinks, 5);
  sp_config_free(cfg);
}

/* ---- errors -------------------------------------------------------------------- */

/* A valid one-agent pipeline; the cases below change parts of it. */
#define GRAPH_HEAD "agents:\n  a: {sources: [s], channels: [c], sinks: [k]}\n"
#define GOOD_SOURCES "sources:\n  s: {dataset: news}\n"
#define GOOD_CHANNELS "channels:\n  c: {type: memory}\n"
#define GOOD_SINKS "sinks:\n  k: {type: file}\n"
#define GOOD_BINDINGS "bindings:\n  s: [c]\n  c: k\n"

typedef struct error_case {
  const char *name;
  const char *yaml;
  const char *expected; /* must appear among the messages, with its position */
} error_case;

static const error_case error_cases[] = {
    {"yaml syntax", "pipeline:\n  data_dir: [unclosed\n", "t.yaml:3:1: YAML syntax error"},
    {"unknown top key", "pipelines: {}\n", "t.yaml:1:1: unknown key 'pipelines' (did you mean 'pipeline'?)"},
    {"unknown pipeline key", "pipeline:\n  data_dri: x\n",
     "t.yaml:2:3: pipeline: unknown key 'data_dri' (did you mean 'data_dir'?)"},
    {"unknown nested key", "pipeline:\n  log: {levl: INFO}\n",
     "t.yaml:2:9: pipeline: unknown key 'log.levl' (did you mean 'level'?)"},
    {"wrong type list", "pipeline:\n  data_dir: [a]\n", "t.yaml:2:13: pipeline: data_dir: expected a string, found a list"},
    {"wrong type int", GRAPH_HEAD GOOD_SOURCES "channels:\n  c: {capacity: lots}\n" GOOD_SINKS GOOD_BINDINGS,
     "t.yaml:6:17: channel 'c': capacity: expected an integer, found 'lots'"},
    {"wrong type bool", GRAPH_HEAD "sources:\n  s: {dataset: news, sentiment_analysis: maybe}\n" GOOD_CHANNELS
                            GOOD_SINKS GOOD_BINDINGS,
     "t.yaml:4:42: source 's': sentiment_analysis: expected true or false, found 'maybe'"},
    {"bad enum", GRAPH_HEAD GOOD_SOURCES GOOD_CHANNELS "sinks:\n  k: {format: xlsx}\n" GOOD_BINDINGS,
     "t.yaml:8:15: sink 'k': format: unknown value 'xlsx' (allowed: parquet, csv, jsonl)"},
    {"capacity 0", GRAPH_HEAD GOOD_SOURCES "channels:\n  c: {capacity: 0}\n" GOOD_SINKS GOOD_BINDINGS,
     "t.yaml:6:17: channel 'c': capacity: 0 is out of range (1 to 1000000000)"},
    {"transactionCapacity > capacity",
     GRAPH_HEAD GOOD_SOURCES "channels:\n  c: {capacity: 10, transactionCapacity: 20}\n" GOOD_SINKS GOOD_BINDINGS,
     "t.yaml:6:42: channel 'c': transactionCapacity 20 exceeds capacity 10"},
    {"max_poll_interval_ms < session_timeout_ms",
     GRAPH_HEAD GOOD_SOURCES
     "channels:\n  c: {type: kafka, brokers: \"b:1\", topic: t, session_timeout_ms: 60000, max_poll_interval_ms: 30000}\n"
         GOOD_SINKS GOOD_BINDINGS,
     "t.yaml:6:95: channel 'c': max_poll_interval_ms 30000 is below session_timeout_ms 60000"},
    {"negative retention", "pipeline:\n  retention_days:\n    news: -5\n",
     "t.yaml:3:11: pipeline: retention_days.news: -5 is out of range (0 to 100000)"},
    {"batch_size 0", GRAPH_HEAD GOOD_SOURCES GOOD_CHANNELS "sinks:\n  k: {batch_size: 0}\n" GOOD_BINDINGS,
     "t.yaml:8:19: sink 'k': batch_size: 0 is out of range (1 to 1000000000)"},
    {"batch_size > transactionCapacity", GRAPH_HEAD GOOD_SOURCES GOOD_CHANNELS "sinks:\n  k: {batch_size: 500}\n" GOOD_BINDINGS,
     "t.yaml:8:19: sink 'k': batch_size 500 exceeds channel 'c' transactionCapacity 100"},
    {"schedule word", GRAPH_HEAD "sources:\n  s: {dataset: news, schedule: hourly}\n" GOOD_CHANNELS GOOD_SINKS GOOD_BINDINGS,
     "t.yaml:4:32: source 's': schedule: schedule 'hourly': expected 30m, 1h, 1d, 1w"},
    {"schedule range", GRAPH_HEAD "sources:\n  s: {dataset: news, schedule: \"0 24 * * *\"}\n" GOOD_CHANNELS GOOD_SINKS
                           GOOD_BINDINGS,
     "t.yaml:4:32: source 's': schedule: schedule '0 24 * * *': hour 24 out of range 0-23"},
    {"unknown dataset", GRAPH_HEAD "sources:\n  s: {dataset: prices}\n" GOOD_CHANNELS GOOD_SINKS GOOD_BINDINGS,
     "t.yaml:4:16: source 's': dataset: unknown value 'prices' (allowed: financial_data, stock_movements, news, "
     "macroeconomic, policy)"},
    {"missing dataset", GRAPH_HEAD "sources:\n  s: {schedule: 1h}\n" GOOD_CHANNELS GOOD_SINKS GOOD_BINDINGS,
     "t.yaml:4:3: source 's': missing required key 'dataset'"},
    {"unknown provider", GRAPH_HEAD "sources:\n  s: {dataset: news, providers: [finnhub, reuters]}\n" GOOD_CHANNELS
                             GOOD_SINKS GOOD_BINDINGS,
     "t.yaml:4:43: source 's': providers: unknown value 'reuters'"},
    {"provider for wrong dataset", GRAPH_HEAD "sources:\n  s: {dataset: news, providers: [newsapi, treasury]}\n"
                                       GOOD_CHANNELS GOOD_SINKS GOOD_BINDINGS,
     "t.yaml:4:43: source 's': provider 'treasury' does not serve dataset 'news'"},
    {"key of another dataset", GRAPH_HEAD "sources:\n  s: {dataset: news, bar_interval: 1h}\n" GOOD_CHANNELS GOOD_SINKS
                                   GOOD_BINDINGS,
     "t.yaml:4:22: source 's': key 'bar_interval' does not apply to dataset 'news' (only to: stock_movements)"},
    {"unknown providers section", "providers:\n  yahooo: {timeout: 3}\n",
     "t.yaml:2:3: providers: unknown provider 'yahooo' (did you mean 'yahoo'?)"},
    {"dangling binding source", GRAPH_HEAD GOOD_SOURCES GOOD_CHANNELS GOOD_SINKS "bindings:\n  s: [c]\n  c: k\n  x: [c]\n",
     "t.yaml:12:3: bindings: dangling binding: no source or channel named 'x'"},
    {"dangling binding channel", GRAPH_HEAD GOOD_SOURCES GOOD_CHANNELS GOOD_SINKS "bindings:\n  s: [c, d]\n  c: k\n",
     "t.yaml:10:10: bindings: source 's': no channel named 'd'"},
    {"dangling binding sink", GRAPH_HEAD GOOD_SOURCES GOOD_CHANNELS GOOD_SINKS "bindings:\n  s: [c]\n  c: kk\n",
     "t.yaml:11:6: bindings: channel 'c': no sink named 'kk' (did you mean 'k'?)"},
    {"channel drained by no sink", GRAPH_HEAD GOOD_SOURCES GOOD_CHANNELS GOOD_SINKS "bindings:\n  s: [c]\n",
     "t.yaml:6:3: channel 'c' is drained by no sink"},
    {"channel drained by two sinks",
     "agents:\n  a: {sources: [s], channels: [c], sinks: [k, k2]}\n" GOOD_SOURCES GOOD_CHANNELS
     "sinks:\n  k: {type: file}\n  k2: {type: file}\n" "bindings:\n  s: [c]\n  c: k\n  c: k2\n",
     "t.yaml:13:3: bindings: 'c' is bound twice (a channel is drained by exactly one sink)"},
    {"sink draining two channels",
     "agents:\n  a: {sources: [s], channels: [c, c2], sinks: [k]}\n" GOOD_SOURCES
     "channels:\n  c: {}\n  c2: {}\n" GOOD_SINKS "bindings:\n  s: [c, c2]\n  c: k\n  c2: k\n",
     "t.yaml:13:7: bindings: channel 'c2': sink 'k' already drains channel 'c'"},
    {"kafka channel with no source and no dataset",
     "agents:\n  a: {channels: [c], sinks: [k]}\n"
     "channels:\n  c: {type: kafka, brokers: 'h:1', topic: t}\n" GOOD_SINKS "bindings:\n  c: k\n",
     "t.yaml:4:3: kafka channel 'c' receives from no source: give its 'dataset' (a writer agent's channel) or bind "
     "a source to it"},
    {"memory channel with no source", "agents:\n  a: {channels: [c], sinks: [k]}\n" GOOD_CHANNELS GOOD_SINKS
                                          "bindings:\n  c: k\n",
     "t.yaml:4:3: channel 'c' receives from no source"},
    {"kafka channel dataset differing from its source's",
     GRAPH_HEAD GOOD_SOURCES "channels:\n  c: {type: kafka, brokers: 'h:1', topic: t, dataset: policy}\n" GOOD_SINKS
         GOOD_BINDINGS,
     "t.yaml:10:7: bindings: source 's': channel 'c' would carry two datasets (policy and news); a channel carries one"},
    {"component in no agent", "agents:\n  a: {sources: [s], channels: [c]}\n" GOOD_SOURCES GOOD_CHANNELS GOOD_SINKS
                                  GOOD_BINDINGS,
     "t.yaml:8:3: sink 'k' belongs to no agent"},
    {"component in two agents",
     GRAPH_HEAD "  b: {sinks: [k]}\n" GOOD_SOURCES GOOD_CHANNELS GOOD_SINKS GOOD_BINDINGS,
     "t.yaml:3:15: sink 'k' belongs to two agents: 'a' and 'b'"},
    {"agent lists unknown", "agents:\n  a: {sources: [s, t], channels: [c], sinks: [k]}\n" GOOD_SOURCES GOOD_CHANNELS
                                GOOD_SINKS GOOD_BINDINGS,
     "t.yaml:2:20: agent 'a': sources: no source named 't'"},
    {"postgresql without connection_string", GRAPH_HEAD GOOD_SOURCES GOOD_CHANNELS "sinks:\n  k: {type: postgresql}\n"
                                                 GOOD_BINDINGS,
     "t.yaml:8:3: sink 'k': missing required key 'connection_string' for type postgresql"},
    {"kafka channel without brokers", GRAPH_HEAD GOOD_SOURCES "channels:\n  c: {type: kafka, topic: t}\n" GOOD_SINKS
                                          GOOD_BINDINGS,
     "t.yaml:6:3: channel 'c': missing required key 'brokers' for type kafka"},
    {"key of another sink type", GRAPH_HEAD GOOD_SOURCES GOOD_CHANNELS
     "sinks:\n  k: {type: postgresql, connection_string: x, path: raw}\n" GOOD_BINDINGS,
     "t.yaml:8:47: sink 'k': key 'path' does not apply to type 'postgresql' (only to: file)"},
    {"snappy csv", GRAPH_HEAD GOOD_SOURCES GOOD_CHANNELS "sinks:\n  k: {format: csv, compression: snappy}\n" GOOD_BINDINGS,
     "t.yaml:8:33: sink 'k': compression snappy is for parquet only"},
    {"duplicate key", GRAPH_HEAD "sources:\n  s: {dataset: news, dataset: policy}\n" GOOD_CHANNELS GOOD_SINKS GOOD_BINDINGS,
     "t.yaml:4:22: source 's': duplicate key 'dataset' (first given at line 4)"},
    {"component not a mapping", GRAPH_HEAD GOOD_SOURCES "channels:\n  c: [memory]\n" GOOD_SINKS GOOD_BINDINGS,
     "t.yaml:6:6: channel 'c': expected a mapping of settings, found a list"},
    {"null source has no dataset", GRAPH_HEAD "sources:\n  s:\n" GOOD_CHANNELS GOOD_SINKS GOOD_BINDINGS,
     "t.yaml:4:3: source 's': missing required key 'dataset' (one of: financial_data, stock_movements, news, "
     "macroeconomic, policy)"},
    {"bad listen", "pipeline:\n  http: {listen: \"localhost\"}\n",
     "t.yaml:2:18: pipeline: http.listen: expected \"host:port\""},
    {"empty ticker list", GRAPH_HEAD "sources:\n  s: {dataset: news, tickers: []}\n" GOOD_CHANNELS GOOD_SINKS GOOD_BINDINGS,
     "t.yaml:4:31: source 's': tickers: the list must not be empty"},
    {"bad tickers word", GRAPH_HEAD "sources:\n  s: {dataset: news, tickers: nasdaq}\n" GOOD_CHANNELS GOOD_SINKS GOOD_BINDINGS,
     "t.yaml:4:31: source 's': tickers: expected mag7, sp500 or a list of symbols"},
    {"channel with two datasets",
     "agents:\n  a: {sources: [s, s2], channels: [c], sinks: [k]}\n"
     "sources:\n  s: {dataset: news}\n  s2: {dataset: policy}\n" GOOD_CHANNELS GOOD_SINKS
     "bindings:\n  s: [c]\n  s2: [c]\n  c: k\n",
     "t.yaml:12:8: bindings: source 's2': channel 'c' would carry two datasets (news and policy)"},
    {"shared channel folder",
     "agents:\n  a: {sources: [s], channels: [c, d], sinks: [k, l]}\n" GOOD_SOURCES
     "channels:\n  c: {type: file, data_dir: q}\n  d: {type: file, data_dir: q}\n"
     "sinks:\n  k: {}\n  l: {}\n" "bindings:\n  s: [c, d]\n  c: k\n  d: l\n",
     "t.yaml:7:3: channel 'd' uses folder 'q' already used by channel 'c'"},
};

static void test_error_classes(void **state) {
  (void)state;
  int failures = 0;
  for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
    const error_case *c = &error_cases[i];
    sp_config *cfg = NULL;
    sp_config_diag diag;
    int rc = sp_config_load_string(c->yaml, strlen(c->yaml), "t.yaml", &cfg, &diag);
    bool found = false;
    for (int m = 0; m < diag.count; m++) found |= strstr(diag.messages[m], c->expected) == diag.messages[m];
    if (rc != SP_ERR_CONFIG || !found) {
      fprintf(stderr, "case '%s': rc %d, expected \"%s\", got:\n", c->name, rc, c->expected);
      for (int m = 0; m < diag.count; m++) fprintf(stderr, "  %s\n", diag.messages[m]);
      failures++;
    }
    assert_null(cfg);
  }
  assert_int_equal(failures, 0);
}

/* All errors are reported (not only the first), capped at SP_CONFIG_MAX_ERRORS. */
static void test_error_cap(void **state) {
  (void)state;
  char yaml[8192] = "pipeline:\n";
  for (int i = 0; i < 30; i++) snprintf(yaml + strlen(yaml), sizeof yaml - strlen(yaml), "  bogus_%d: 1\n", i);
  sp_config *cfg = NULL;
  sp_config_diag diag;
  assert_int_equal(sp_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &diag), SP_ERR_CONFIG);
  assert_int_equal(diag.count, SP_CONFIG_MAX_ERRORS);
  assert_int_equal(diag.dropped, 30 - SP_CONFIG_MAX_ERRORS);
  assert_string_equal(diag.messages[19], "t.yaml:21:3: pipeline: unknown key 'bogus_19'");

  /* two different errors in one file both come out */
  const char *two = "pipeline:\n  data_dir: \"\"\n  log: {level: LOUD}\n";
  assert_int_equal(sp_config_load_string(two, strlen(two), "t.yaml", &cfg, &diag), SP_ERR_CONFIG);
  assert_int_equal(diag.count, 2);
  assert_string_equal(diag.messages[0], "t.yaml:2:13: pipeline: data_dir: must not be empty");
}

static void test_missing_file(void **state) {
  (void)state;
  sp_config *cfg = NULL;
  sp_config_diag diag;
  assert_int_equal(sp_config_load("/nonexistent/stockpipe.yaml", &cfg, &diag), SP_ERR_IO);
  assert_null(cfg);
  assert_int_equal(diag.count, 1);
  assert_non_null(strstr(diag.messages[0], "/nonexistent/stockpipe.yaml: cannot read config file"));
}

/* ---- schedules ------------------------------------------------------------------ */

static void test_schedule(void **state) {
  (void)state;
  sp_schedule s;
  sp_error err;
  assert_int_equal(sp_schedule_parse("30m", &s, &err), 0);
  assert_int_equal(s.kind, SP_SCHEDULE_INTERVAL);
  assert_int_equal(s.interval_seconds, 1800);
  assert_int_equal(sp_schedule_next(&s, ts_of("2026-11-25T14:29:59Z")), ts_of("2026-11-25T14:30:00Z"));
  assert_int_equal(sp_schedule_next(&s, ts_of("2026-11-25T14:30:00Z")), ts_of("2026-11-25T15:00:00Z"));
  assert_int_equal(sp_schedule_parse("1w", &s, &err), 0);
  assert_int_equal(s.interval_seconds, 604800);
  assert_int_equal(sp_schedule_parse("1d", &s, &err), 0);
  assert_int_equal(sp_schedule_next(&s, ts_of("2026-11-25T14:29:59Z")), ts_of("2026-11-26T00:00:00Z"));

  /* weekdays at 21:30 UTC */
  assert_int_equal(sp_schedule_parse("30 21 * * 1-5", &s, &err), 0);
  assert_int_equal(s.kind, SP_SCHEDULE_CRON);
  assert_string_equal(s.text, "30 21 * * 1-5");
  /* 2026-11-27 is a Friday */
  assert_int_equal(sp_schedule_next(&s, ts_of("2026-11-27T21:30:00Z")), ts_of("2026-11-30T21:30:00Z"));
  assert_int_equal(sp_schedule_next(&s, ts_of("2026-11-27T21:29:30Z")), ts_of("2026-11-27T21:30:00Z"));
  /* steps and lists */
  assert_int_equal(sp_schedule_parse("*/15 0,12 * * *", &s, &err), 0);
  assert_int_equal(s.minutes, (UINT64_C(1) << 0) | (UINT64_C(1) << 15) | (UINT64_C(1) << 30) | (UINT64_C(1) << 45));
  assert_int_equal(sp_schedule_next(&s, ts_of("2026-11-25T00:50:00Z")), ts_of("2026-11-25T12:00:00Z"));
  /* day of month OR day of week when both are restricted; 7 = Sunday */
  assert_int_equal(sp_schedule_parse("0 6 1 * 7", &s, &err), 0);
  assert_int_equal(s.days_of_week, 1);
  assert_int_equal(sp_schedule_next(&s, ts_of("2026-11-25T00:00:00Z")), ts_of("2026-11-29T06:00:00Z")); /* Sunday */
  assert_int_equal(sp_schedule_next(&s, ts_of("2026-11-29T06:00:00Z")), ts_of("2026-12-01T06:00:00Z")); /* the 1st */
  /* Feb 29 exists: fires in the next leap year */
  assert_int_equal(sp_schedule_parse("0 0 29 2 *", &s, &err), 0);
  assert_int_equal(sp_schedule_next(&s, ts_of("2026-11-25T00:00:00Z")), ts_of("2028-02-29T00:00:00Z"));

  const char *bad[][2] = {
      {"", "schedule is empty"},
      {"0m", "interval must be between 1"},
      {"1x", "expected 30m, 1h, 1d, 1w"},
      {"* * * *", "found 4 fields"},
      {"* * * * * *", "found 6 fields"},
      {"60 * * * *", "minute 60 out of range 0-59"},
      {"0 0 0 * *", "day of month 0 out of range 1-31"},
      {"0 0 * 13 *", "month 13 out of range 1-12"},
      {"0 0 * * 8", "day of week 8 out of range 0-6"},
      {"5-1 * * * *", "range 5-1 is backwards"},
      {"*/0 * * * *", "bad minute field '*/0'"},
      {"a * * * *", "bad minute field 'a'"},
      {"0 0 31 2 *", "never fires"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = sp_schedule_parse(bad[i][0], &s, &err);
    if (rc != SP_ERR_INVALID || !strstr(err.msg, bad[i][1]))
      fprintf(stderr, "schedule '%s': rc %d msg '%s'\n", bad[i][0], rc, err.msg);
    assert_int_equal(rc, SP_ERR_INVALID);
    assert_non_null(strstr(err.msg, bad[i][1]));
  }
}

/* ---- paths and environment ----------------------------------------------------------- */

static void test_paths(void **state) {
  (void)state;
  unsetenv("STOCKPIPE_DATA_DIR");
  const char *yaml = "pipeline:\n  credentials: keys.json\n  sp500_file: config/sp500.csv\n  log: {file: logs/sp.log}\n";
  sp_config *cfg = NULL;
  sp_config_diag diag;
  assert_int_equal(sp_config_load_string(yaml, strlen(yaml), "/etc/stockpipe/config/stockpipe.yaml", &cfg, &diag), 0);
  assert_string_equal(cfg->base_dir, "/etc/stockpipe/config");
  assert_string_equal(cfg->pipeline.credentials_path, "/etc/stockpipe/config/keys.json");
  /* SPEC §3 spells it from the project folder: config/... inside config/ is not doubled */
  assert_string_equal(cfg->pipeline.sp500_path, "/etc/stockpipe/config/sp500.csv");
  assert_string_equal(cfg->pipeline.log_path, "/etc/stockpipe/config/logs/sp.log");
  /* data_dir relative paths, re-resolved by --data-dir */
  assert_string_equal(sp_config_find_sink(cfg, "news_sink")->path_template, "./data/raw/news/%Y-%m-%d");
  sp_error err;
  assert_int_equal(sp_config_set_data_dir(cfg, "/var/lib/sp/", &err), 0);
  assert_string_equal(sp_config_find_sink(cfg, "news_sink")->path_template, "/var/lib/sp/raw/news/%Y-%m-%d");
  assert_string_equal(sp_config_find_channel(cfg, "macro_channel")->data_path, "/var/lib/sp/.channels/macro/data");
  assert_int_equal(sp_config_set_data_dir(cfg, "", &err), SP_ERR_INVALID);
  assert_int_equal(sp_config_set_credentials_path(cfg, "other.json", &err), 0);
  assert_string_equal(cfg->pipeline.credentials_path, "other.json");
  sp_config_free(cfg);

  /* relative config file; absolute paths stay */
  const char *abs = "pipeline:\n  credentials: /run/keys.json\n";
  assert_int_equal(sp_config_load_string(abs, strlen(abs), "conf/sp.yaml", &cfg, &diag), 0);
  assert_string_equal(cfg->pipeline.credentials_path, "/run/keys.json");
  assert_string_equal(cfg->pipeline.sp500_path, "conf/config/sp500.csv");
  sp_config_free(cfg);

  /* no file: the current directory */
  assert_int_equal(sp_config_load(NULL, &cfg, &diag), 0);
  assert_string_equal(cfg->base_dir, ".");
  assert_string_equal(cfg->pipeline.sp500_path, "config/sp500.csv");
  assert_string_equal(cfg->pipeline.log_path, "");
  sp_config_free(cfg);

  assert_int_equal(sp_config_load_string("", 0, "config/stockpipe.yaml", &cfg, &diag), 0);
  char *fomc = sp_config_resolve_path(cfg, "config/fomc_calendar.csv");
  assert_string_equal(fomc, "config/fomc_calendar.csv");
  free(fomc);
  char *other = sp_config_resolve_path(cfg, "data.csv");
  assert_string_equal(other, "config/data.csv");
  free(other);
  sp_config_free(cfg);

  char *joined = sp_path_join("a/", "b");
  assert_string_equal(joined, "a/b");
  free(joined);
}

static void test_env_and_locate(void **state) {
  (void)state;
  setenv("STOCKPIPE_DATA_DIR", "/tmp/sp-env-data", 1);
  sp_config *cfg = NULL;
  sp_config_diag diag;
  const char *yaml = "pipeline: {data_dir: /from/file}\n";
  assert_int_equal(sp_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &diag), 0);
  assert_string_equal(cfg->pipeline.data_dir, "/tmp/sp-env-data");
  assert_string_equal(sp_config_find_sink(cfg, "macro_sink")->path_template,
                      "/tmp/sp-env-data/context/macroeconomic/%Y-%m-%d");
  sp_config_free(cfg);
  unsetenv("STOCKPIPE_DATA_DIR");

  /* lookup order: --config, STOCKPIPE_CONFIG, ./config/stockpipe.yaml, built-in */
  char old[4096];
  assert_non_null(getcwd(old, sizeof old));
  char dir[] = "/tmp/sp-locate-XXXXXX";
  assert_non_null(mkdtemp(dir));
  assert_int_equal(chdir(dir), 0);
  unsetenv("STOCKPIPE_CONFIG");
  assert_null(sp_config_locate(NULL));
  assert_int_equal(mkdir("config", 0700), 0);
  FILE *f = fopen("config/stockpipe.yaml", "w");
  assert_non_null(f);
  fclose(f);
  assert_string_equal(sp_config_locate(NULL), "config/stockpipe.yaml");
  setenv("STOCKPIPE_CONFIG", "/env.yaml", 1);
  assert_string_equal(sp_config_locate(NULL), "/env.yaml");
  assert_string_equal(sp_config_locate("/cli.yaml"), "/cli.yaml");
  unsetenv("STOCKPIPE_CONFIG");
  assert_int_equal(unlink("config/stockpipe.yaml"), 0);
  assert_int_equal(rmdir("config"), 0);
  assert_int_equal(chdir(old), 0);
  assert_int_equal(rmdir(dir), 0);
}

/* Mutated configs (bytes flipped, deleted, duplicated) never crash, leak or
 * produce a message without a position; each either loads or is rejected. */
static void test_mutations_are_handled(void **state) {
  (void)state;
  const char *base = sp_config_default_yaml;
  size_t len = strlen(base);
  static const char alphabet[] = " :-[]{},#&*!|>'\"%@`\n\tabcz019_.";
  uint32_t seed = 12345;
  int rejected = 0;
  for (int round = 0; round < 600; round++) {
    char *text = malloc(len * 2 + 1);
    assert_non_null(text);
    memcpy(text, base, len + 1);
    size_t n = len;
    for (int edits = 0; edits < 1 + round % 4; edits++) {
      seed = seed * 1103515245u + 12345u;
      size_t at = (seed >> 8) % n;
      seed = seed * 1103515245u + 12345u;
      switch ((seed >> 4) % 3) {
        case 0: text[at] = alphabet[(seed >> 12) % (sizeof alphabet - 1)]; break;
        case 1: memmove(text + at, text + at + 1, n - at); n--; break;
        default: {
          size_t span = (seed >> 10) % 40;
          if (at + span > n) span = n - at;
          memmove(text + at + span, text + at, n - at + 1);
          n += span;
        }
      }
    }
    sp_config *cfg = NULL;
    sp_config_diag diag;
    int rc = sp_config_load_string(text, n, "m.yaml", &cfg, &diag);
    if (rc == SP_OK) {
      assert_non_null(cfg);
      sp_config_free(cfg);
    } else {
      assert_int_equal(rc, SP_ERR_CONFIG);
      assert_null(cfg);
      assert_true(diag.count > 0);
      for (int m = 0; m < diag.count; m++) assert_true(strncmp(diag.messages[m], "m.yaml:", 7) == 0);
      rejected++;
    }
    free(text);
  }
  assert_true(rejected > 100);
}

/* The provider modules declare the providers' facts once: every module is a config
 * provider and every config provider has a module, whose settings are the config's
 * defaults; a module's credential is a credentials.json name of that provider. */
static void test_providers_are_their_modules(void **state) {
  (void)state;
  size_t count = 0;
  const sp_source_provider *const *providers = sp_source_providers(&count);
  assert_int_equal(count, SP_PROVIDER_COUNT);
  for (size_t i = 0; i < count; i++) {
    const sp_source_provider *sp = providers[i];
    int id = sp_provider_id_from_name(sp->name);
    if (id < 0) fprintf(stderr, "provider module '%s' is not a config provider\n", sp->name);
    assert_true(id >= 0);
    assert_ptr_equal(sp_provider_module(id), sp);
    if (sp->credential) {
      bool named = false;
      for (int c = 0; c < SP_CRED_COUNT; c++)
        named |= strcmp(sp_credential_json_name((sp_credential_id)c), sp->credential) == 0 &&
                 strcmp(sp_credential_provider((sp_credential_id)c), sp->name) == 0;
      assert_true(named);
    }
  }
  sp_config *cfg = NULL;
  sp_config_diag diag = {0};
  assert_int_equal(sp_config_load(NULL, &cfg, &diag), SP_OK);
  for (int id = 0; id < SP_PROVIDER_COUNT; id++) {
    const sp_source_provider *sp = sp_provider_module(id);
    if (!sp) fprintf(stderr, "config provider '%s' has no module in src/sources\n", sp_provider_names[id]);
    assert_non_null(sp);
    assert_string_equal(sp->name, sp_provider_names[id]);
    const sp_config_provider *p = sp_config_find_provider(cfg, sp->name);
    assert_non_null(p);
    assert_string_equal(p->base_url, sp->http.base_url);
    assert_true(p->rate_limit == sp->http.rate_limit);
    assert_int_equal(p->max_in_flight, sp->http.max_in_flight);
    assert_int_equal(p->timeout * 1000, sp->http.timeout_ms);
    assert_int_equal(p->daily_limit, sp->daily_limit);
    assert_int_equal(p->needs_key, sp->credential != NULL);
  }
  sp_config_free(cfg);
}

static void test_reference_lists_every_key(void **state) {
  (void)state;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_int_equal(sp_config_write_reference(f), 0);
  fclose(f);
  const char *keys[] = {"`data_dir`", "`retention_days.news`", "`log.level`", "`http.listen`", "`transactionCapacity`",
                        "`connection_string`", "`include_indicators`", "`base_url`", "`min_free_disk_mb`"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) assert_non_null(strstr(text, keys[i]));
  free(text);
}

/* Passwords of connection strings: found in every form, registered as log secrets
 * when the config loads, written as REDACTED by config show. */
static void test_connection_passwords(void **state) {
  (void)state;
  struct {
    const char *conn, *password;
  } cases[] = {
      {"host=127.0.0.1 password=S3cretPw123 dbname=x", "S3cretPw123"},
      {"host=h PASSWORD = 'a b\\'c' dbname=x", "a b\\'c"},
      {"postgresql://user:Pw%40x@h:5432/db", "Pw%40x"},
      {"postgresql://h/db?user=u&password=QueryPw1&sslmode=off", "QueryPw1"},
      {"mongodb://stock:M0ngoPw456@h1:1,h2:2/?authSource=admin", "M0ngoPw456"},
      {"host=h dbname=x", NULL},
      {"mongodb://user@h/", NULL},
      {"host=h mypassword=notakey", NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t len = 0;
    long at = sp_connection_password_next(cases[i].conn, 0, &len);
    if (!cases[i].password) {
      assert_true(at < 0);
      continue;
    }
    assert_true(at >= 0);
    assert_int_equal(len, strlen(cases[i].password));
    assert_memory_equal(cases[i].conn + at, cases[i].password, len);
    assert_true(sp_connection_password_next(cases[i].conn, (size_t)at + len, &len) < 0);
  }

  sp_log_clear_secrets();
  const char *yaml =
      "agents:\n  a1: {sources: [bars], channels: [c1, c2], sinks: [pg, mg]}\n"
      "sources:\n  bars: {dataset: stock_movements, tickers: [AAPL]}\n"
      "channels:\n  c1: {type: memory}\n  c2: {type: memory}\n"
      "sinks:\n"
      "  pg: {type: postgresql, connection_string: \"host=127.0.0.1 password=S3cretPw123 dbname=x\"}\n"
      "  mg: {type: mongodb, uri: \"mongodb://stock:M0ngoPw456@127.0.0.1:27017/?authSource=admin\"}\n"
      "bindings:\n  bars: [c1, c2]\n  c1: pg\n  c2: mg\n";
  sp_config_diag diag;
  sp_config *cfg = load_text(yaml, &diag);
  assert_non_null(cfg);
  char line[] = "connect failed: password S3cretPw123 / M0ngoPw456 refused";
  sp_redact(line);
  assert_string_equal(line, "connect failed: password REDACTED / REDACTED refused");
  char *shown = config_written(cfg);
  assert_null(strstr(shown, "S3cretPw123"));
  assert_null(strstr(shown, "M0ngoPw456"));
  assert_non_null(strstr(shown, "connection_string: \"host=127.0.0.1 password=REDACTED dbname=x\""));
  assert_non_null(strstr(shown, "uri: \"mongodb://stock:REDACTED@127.0.0.1:27017/?authSource=admin\""));
  free(shown);
  sp_config_free(cfg);
  sp_log_clear_secrets();
}

/* A writer agent's Kafka channel: no source, its dataset given on the channel; the
 * sink's defaults follow that dataset and config show writes it back. */
static void test_kafka_writer_channel(void **state) {
  (void)state;
  const char *yaml = "agents:\n  writer: {channels: [financial_in], sinks: [financial_files]}\n"
                     "channels:\n"
                     "  financial_in: {type: kafka, brokers: 'k1:9092', topic: t, dataset: financial_data}\n"
                     "sinks:\n  financial_files: {type: file}\n"
                     "bindings:\n  financial_in: financial_files\n";
  sp_config_diag diag;
  sp_config *cfg = load_text(yaml, &diag);
  assert_non_null(cfg);
  assert_int_equal(cfg->nsources, 0);
  assert_int_equal(cfg->nchannels, 1);
  assert_int_equal(cfg->channels[0].dataset, SP_DS_FINANCIAL_DATA);
  assert_string_equal(cfg->channels[0].sink, "financial_files");
  assert_int_equal(cfg->sinks[0].dataset, SP_DS_FINANCIAL_DATA);
  assert_string_equal(cfg->sinks[0].path, "raw/financial_data/%Y-%m-%d");
  char *shown = config_written(cfg);
  assert_non_null(strstr(shown, "    dataset: financial_data\n"));
  sp_config *again = load_text(shown, &diag);
  assert_non_null(again);
  assert_int_equal(again->channels[0].dataset, SP_DS_FINANCIAL_DATA);
  sp_config_free(again);
  free(shown);
  sp_config_free(cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_match_spec),
      cmocka_unit_test(test_shipped_file_equals_builtin),
      cmocka_unit_test(test_option_tables),
      cmocka_unit_test(test_custom_config),
      cmocka_unit_test(test_pipeline_only_file),
      cmocka_unit_test(test_error_classes),
      cmocka_unit_test(test_error_cap),
      cmocka_unit_test(test_missing_file),
      cmocka_unit_test(test_schedule),
      cmocka_unit_test(test_paths),
      cmocka_unit_test(test_env_and_locate),
      cmocka_unit_test(test_mutations_are_handled),
      cmocka_unit_test(test_providers_are_their_modules),
      cmocka_unit_test(test_reference_lists_every_key),
      cmocka_unit_test(test_connection_passwords),
      cmocka_unit_test(test_kafka_writer_channel),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
