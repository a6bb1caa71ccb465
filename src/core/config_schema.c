/*
 * config_schema.c — the option tables (see config_schema.h): every config key of
 * SPEC §3 with its type, default, allowed values and meaning, and the eight
 * providers' names (their datasets and default settings are their modules', in
 * src/sources/).  To add a key: add its field to the struct in config.h and one row
 * here; parsing, validation, `config show` and docs/CONFIGURATION.md follow.
 */
#include "core/config_schema.h"

#include "sources/source.h"

#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *const sp_dataset_names[] = {"financial_data", "stock_movements", "news", "macroeconomic", "policy",
                                        NULL};
const char *const sp_provider_names[] = {"yahoo", "alphavantage", "finnhub",    "newsapi",
                                         "fred",  "worldbank",    "fedreserve", "treasury", NULL};

/* SPEC §1/§3: which provider serves which dataset, which need a key and their default
 * HTTP settings and daily limits are declared once, by the provider modules. */
const sp_source_provider *sp_provider_module(sp_provider_id id) {
  return sp_source_find(sp_provider_names[id]);
}

static const char *const log_levels[] = {"DEBUG", "INFO", "WARN", "ERROR", "OFF", NULL};
static const char *const channel_types[] = {"memory", "file", "kafka", NULL};
static const char *const sink_types[] = {"file", "postgresql", "mongodb", "kafka", NULL};
static const char *const file_formats[] = {"parquet", "csv", "jsonl", NULL};
static const char *const compressions[] = {"snappy", "zstd", "gzip", "uncompressed", NULL};
static const char *const bar_intervals[] = {"1h", "1d", NULL};
static const char *const indicator_names[] = {"sma_20", "sma_50", "ema_12", "ema_26", "rsi_14",
                                              "macd",   "bbands", "atr_14", NULL};
static const char *const macro_indicators[] = {"interest_rate", "unemployment_rate", "gdp_growth",
                                               "inflation_rate", "fed_funds_rate", NULL};
static const char *const policy_event_types[] = {"press_release",  "monetary_policy", "fomc_meeting",
                                                 "rate_decision", "treasury_debt",   "economic_release", NULL};

/* ---- pipeline ---------------------------------------------------------------- */
#define P(field) offsetof(sp_config_pipeline, field)
#define RET(id) (offsetof(sp_config_pipeline, retention_days) + (id) * sizeof(int64_t))

static const sp_option retention_rows[] = {
    {"financial_data", SP_OPT_INT, RET(SP_DS_FINANCIAL_DATA), "90", NULL, 0, 100000, NULL, 0, NULL,
     "Days of raw/financial_data partitions `stockpipe retention` keeps; 0 = keep forever."},
    {"stock_movements", SP_OPT_INT, RET(SP_DS_STOCK_MOVEMENTS), "90", NULL, 0, 100000, NULL, 0, NULL,
     "Days of raw/stock_movements partitions kept; 0 = keep forever."},
    {"news", SP_OPT_INT, RET(SP_DS_NEWS), "60", NULL, 0, 100000, NULL, 0, NULL,
     "Days of raw/news partitions kept; 0 = keep forever."},
    {"macroeconomic", SP_OPT_INT, RET(SP_DS_MACROECONOMIC), "365", NULL, 0, 100000, NULL, 0, NULL,
     "Days of context/macroeconomic partitions kept; 0 = keep forever."},
    {"policy", SP_OPT_INT, RET(SP_DS_POLICY), "730", NULL, 0, 100000, NULL, 0, NULL,
     "Days of context/policy partitions kept; 0 = keep forever."},
};
static const sp_option_table retention_table = {"pipeline.retention_days", NULL, retention_rows,
                                                COUNT(retention_rows)};

static const sp_option log_rows[] = {
    {"level", SP_OPT_ENUM, P(log_level), "INFO", log_levels, 0, 0, NULL, 0, NULL,
     "Lowest level written (--log-level overrides it)."},
    {"file", SP_OPT_STRING, P(log_file), "\"\"", NULL, 0, 0, NULL, 0, NULL,
     "Also append log lines to this file (relative to the config file's folder); \"\" = stderr only. "
     "Reopened on SIGHUP."},
};
static const sp_option_table log_table = {"pipeline.log", NULL, log_rows, COUNT(log_rows)};

static const sp_option http_rows[] = {
    {"listen", SP_OPT_LISTEN, P(http_listen), "\"127.0.0.1:8765\"", NULL, 0, 0, NULL, 0, NULL,
     "host:port of the health and metrics endpoint (/health, /metrics, /metrics.json); \"\" = off."},
};
static const sp_option_table http_table = {"pipeline.http", NULL, http_rows, COUNT(http_rows)};

static const sp_option pipeline_rows[] = {
    {"data_dir", SP_OPT_STRING, P(data_dir), "./data", NULL, 0, 0, NULL, SP_OPT_NONEMPTY, NULL,
     "Root of the stored datasets; relative sink paths and channel directories start here. "
     "STOCKPIPE_DATA_DIR and --data-dir override it."},
    {"credentials", SP_OPT_STRING, P(credentials), "config/credentials.json", NULL, 0, 0, NULL, SP_OPT_NONEMPTY,
     NULL,
     "API keys file (relative to the config file's folder). --credentials and STOCKPIPE_CREDENTIALS "
     "override it. Must not be readable by group or others."},
    {"mag7_tickers", SP_OPT_SYMBOLS, P(mag7_tickers), "[AAPL, MSFT, GOOGL, AMZN, NVDA, META, TSLA]", NULL, 1, 0,
     NULL, 0, NULL, "The symbols a source with `tickers: mag7` follows."},
    {"sp500_file", SP_OPT_STRING, P(sp500_file), "config/sp500.csv", NULL, 0, 0, NULL, SP_OPT_NONEMPTY, NULL,
     "S&P 500 constituents list (relative to the config file's folder) a source with `tickers: sp500` follows."},
    {"retention_days", SP_OPT_SECTION, 0, NULL, NULL, 0, 0, NULL, 0, &retention_table,
     "Days of partitions kept per dataset."},
    {"log", SP_OPT_SECTION, 0, NULL, NULL, 0, 0, NULL, 0, &log_table, "Logging."},
    {"http", SP_OPT_SECTION, 0, NULL, NULL, 0, 0, NULL, 0, &http_table, "Health and metrics endpoint."},
};
const sp_option_table sp_pipeline_options = {"pipeline", NULL, pipeline_rows, COUNT(pipeline_rows)};
#undef P
#undef RET

/* ---- agents -------------------------------------------------------------------- */
#define A(field) offsetof(sp_config_agent, field)
static const sp_option agent_rows[] = {
    {"sources", SP_OPT_LIST, A(sources), "[]", NULL, 0, 0, NULL, 0, NULL, "Names of the sources this agent runs."},
    {"channels", SP_OPT_LIST, A(channels), "[]", NULL, 0, 0, NULL, 0, NULL, "Names of its channels."},
    {"sinks", SP_OPT_LIST, A(sinks), "[]", NULL, 0, 0, NULL, 0, NULL, "Names of its sinks."},
};
const sp_option_table sp_agent_options = {"agent", NULL, agent_rows, COUNT(agent_rows)};
#undef A

/* ---- sources ------------------------------------------------------------------- */
#define S(field) offsetof(sp_config_source, field)
static const sp_option source_rows[] = {
    {"dataset", SP_OPT_ENUM, S(dataset), NULL, sp_dataset_names, 0, 0, NULL, SP_OPT_REQUIRED, NULL,
     "Which dataset this source collects (SPEC §1)."},
    {"providers", SP_OPT_LIST, S(providers), "[yahoo, alphavantage, finnhub]", sp_provider_names, 1, 0,
     "financial_data", 0, NULL,
     "Providers asked, in priority order (for fundamentals the first listed wins). Each must serve the dataset."},
    {"providers", SP_OPT_LIST, S(providers), "[yahoo]", sp_provider_names, 1, 0, "stock_movements", 0, NULL,
     "Providers asked, in priority order."},
    {"providers", SP_OPT_LIST, S(providers), "[finnhub, newsapi, alphavantage]", sp_provider_names, 1, 0, "news", 0,
     NULL, "Providers asked; an article seen from several is stored once, under the first that stored it."},
    {"providers", SP_OPT_LIST, S(providers), "[fred, worldbank]", sp_provider_names, 1, 0, "macroeconomic", 0,
     NULL, "Providers asked."},
    {"providers", SP_OPT_LIST, S(providers), "[fedreserve, fred, treasury]", sp_provider_names, 1, 0, "policy", 0,
     NULL, "Providers asked."},
    {"tickers", SP_OPT_TICKERS, S(tickers), "mag7", NULL, 0, 0, "financial_data", 0, NULL,
     "`mag7` (pipeline.mag7_tickers), `sp500` (pipeline.sp500_file) or a list of symbols."},
    {"tickers", SP_OPT_TICKERS, S(tickers), "sp500", NULL, 0, 0, "stock_movements news", 0, NULL,
     "`mag7`, `sp500` or a list of symbols (Yahoo form: BRK-B)."},
    {"schedule", SP_OPT_SCHEDULE, S(schedule), "1h", NULL, 0, 0, "financial_data stock_movements news", 0, NULL,
     "When it runs: `30m`, `1h`, `1d`, `1w` (any <N>m/h/d/w) or a five-field cron expression in UTC."},
    {"schedule", SP_OPT_SCHEDULE, S(schedule), "1d", NULL, 0, 0, "macroeconomic", 0, NULL,
     "When it runs (interval or five-field UTC cron)."},
    {"schedule", SP_OPT_SCHEDULE, S(schedule), "1w", NULL, 0, 0, "policy", 0, NULL,
     "When it runs (interval or five-field UTC cron)."},
    {"bar_interval", SP_OPT_ENUM, S(bar_interval), "1h", bar_intervals, 0, 0, "stock_movements", 0, NULL,
     "Bar length stored: `1h` or `1d`."},
    {"include_indicators", SP_OPT_LIST, S(include_indicators), "[sma_20, sma_50, ema_12, ema_26, rsi_14, macd, bbands, atr_14]",
     indicator_names, 0, 0, "stock_movements", 0, NULL,
     "Technical indicators computed (TA-Lib definitions); `macd` gives macd/macd_signal/macd_hist, `bbands` "
     "bb_upper/bb_middle/bb_lower."},
    {"initial_history", SP_OPT_DAYS, S(initial_history_days), NULL, NULL, 0, 36500, NULL, SP_OPT_DERIVED, NULL,
     "History fetched on a series' first poll: <N>d, <N>w or <N>y. Default: 60d for 1h bars, 2y for 1d bars; "
     "for other datasets the source's own choice."},
    {"sentiment_analysis", SP_OPT_BOOL, S(sentiment_analysis), "true", NULL, 0, 0, "news", 0, NULL,
     "Score each article's sentiment (sentiment_score/label/subjectivity)."},
    {"indicators", SP_OPT_LIST, S(indicators), "[interest_rate, unemployment_rate, gdp_growth, inflation_rate, fed_funds_rate]",
     macro_indicators, 1, 0, "macroeconomic", 0, NULL, "Economic indicators collected (SPEC §7 macro mapping)."},
    {"event_types", SP_OPT_LIST, S(event_types),
     "[press_release, monetary_policy, fomc_meeting, rate_decision, treasury_debt, economic_release]",
     policy_event_types, 1, 0, "policy", 0, NULL, "Policy event types collected."},
    {"enabled", SP_OPT_BOOL, S(enabled), "true", NULL, 0, 0, NULL, 0, NULL,
     "false keeps the source configured but never runs it."},
};
const sp_option_table sp_source_options = {"source", "dataset", source_rows, COUNT(source_rows)};
#undef S

/* ---- channels ------------------------------------------------------------------ */
#define C(field) offsetof(sp_config_channel, field)
static const sp_option channel_rows[] = {
    {"type", SP_OPT_ENUM, C(type), "memory", channel_types, 0, 0, NULL, 0, NULL,
     "`memory` (fast, lost on a crash), `file` (durable, replayed after a crash) or `kafka`."},
    {"capacity", SP_OPT_INT, C(capacity), "100", NULL, 1, 1e9, "memory file", 0, NULL,
     "Most events the channel holds; puts beyond it wait."},
    {"transactionCapacity", SP_OPT_INT, C(transaction_capacity), "100", NULL, 1, 1e9, NULL, 0, NULL,
     "Most events in one put or take transaction; at most `capacity`, at least every draining sink's "
     "`batch_size`."},
    {"checkpoint_dir", SP_OPT_STRING, C(checkpoint_dir), NULL, NULL, 0, 0, "file", SP_OPT_DERIVED | SP_OPT_NONEMPTY,
     NULL, "Checkpoint folder (relative to data_dir). Default: .channels/<channel name>/checkpoint."},
    {"data_dir", SP_OPT_STRING, C(data_dir), NULL, NULL, 0, 0, "file", SP_OPT_DERIVED | SP_OPT_NONEMPTY, NULL,
     "Event log folder (relative to data_dir). Default: .channels/<channel name>/data."},
    {"min_free_disk_mb", SP_OPT_INT, C(min_free_disk_mb), "500", NULL, 0, 1e9, "file", 0, NULL,
     "Puts fail (and /health reports low disk) when the data folder's disk has less free space (MiB)."},
    {"brokers", SP_OPT_STRING, C(brokers), NULL, NULL, 0, 0, "kafka", SP_OPT_REQUIRED | SP_OPT_NONEMPTY, NULL,
     "Kafka bootstrap servers, host:port[,host:port...]."},
    {"topic", SP_OPT_STRING, C(topic), NULL, NULL, 0, 0, "kafka", SP_OPT_REQUIRED | SP_OPT_NONEMPTY, NULL,
     "Kafka topic holding the channel's events."},
    {"dataset", SP_OPT_ENUM, C(dataset), NULL, sp_dataset_names, 0, 0, "kafka", SP_OPT_DERIVED, NULL,
     "Dataset the topic's events carry. Default: that of the sources bound to the channel; required when none "
     "is (a writer agent's channel, taking what other machines put into the topic)."},
    {"session_timeout_ms", SP_OPT_INT, C(session_timeout_ms), "45000", NULL, 1000, 3600000, "kafka", 0, NULL,
     "Writer agents sharing the channel name form one Kafka consumer group and split the topic's partitions; "
     "one silent this long (dead, cut off) is dropped and its partitions go to the others."},
    {"max_poll_interval_ms", SP_OPT_INT, C(max_poll_interval_ms), "300000", NULL, 1000, 86400000, "kafka", 0, NULL,
     "A writer that takes nothing for this long (its sink stuck in one batch) leaves the group and its partitions "
     "go to the others. At least `session_timeout_ms`."},
    {"metadata_refresh_ms", SP_OPT_INT, C(metadata_refresh_ms), "60000", NULL, 1000, 3600000, "kafka", 0, NULL,
     "How often writers re-read the topic's partition count: partitions added to the topic are shared out and read "
     "within this time, without a restart."},
};
const sp_option_table sp_channel_options = {"channel", "type", channel_rows, COUNT(channel_rows)};
#undef C

/* ---- sinks --------------------------------------------------------------------- */
#define K(field) offsetof(sp_config_sink, field)
static const sp_option sink_rows[] = {
    {"type", SP_OPT_ENUM, K(type), "file", sink_types, 0, 0, NULL, 0, NULL,
     "`file` (partitioned Parquet/CSV/JSONL), `postgresql`, `mongodb` or `kafka`."},
    {"batch_size", SP_OPT_INT, K(batch_size), "100", NULL, 1, 1e9, NULL, 0, NULL,
     "Events taken from the channel per transaction (every sink type); at most the channel's "
     "transactionCapacity. Never truncates: a larger backlog takes several batches."},
    {"path", SP_OPT_STRING, K(path), NULL, NULL, 0, 0, "file", SP_OPT_DERIVED | SP_OPT_NONEMPTY, NULL,
     "Partition folder template relative to data_dir; %Y %m %d %H are the row's own date. "
     "Default: <tier>/<dataset>/%Y-%m-%d."},
    {"file_prefix", SP_OPT_STRING, K(file_prefix), NULL, NULL, 0, 0, "file", SP_OPT_DERIVED, NULL,
     "File name prefix. Default: <dataset>_."},
    {"format", SP_OPT_ENUM, K(format), "parquet", file_formats, 0, 0, "file", 0, NULL,
     "`parquet`, `csv` or `jsonl`."},
    {"compression", SP_OPT_ENUM, K(compression), NULL, compressions, 0, 0, "file", SP_OPT_DERIVED, NULL,
     "`snappy`, `zstd`, `gzip` or `uncompressed` (snappy is Parquet-only). Default: the dataset's "
     "(snappy for raw, zstd for context) for Parquet, uncompressed for CSV/JSONL."},
    {"roll_interval", SP_OPT_INT, K(roll_interval), "0", NULL, 0, 1e9, "file", 0, NULL,
     "Seconds a file may stay open collecting batches; 0 = close it whenever the channel is drained."},
    {"roll_size_mb", SP_OPT_INT, K(roll_size_mb), "128", NULL, 0, 1e6, "file", 0, NULL,
     "Close a file once it reaches this size (MiB); 0 = no size limit."},
    {"roll_count", SP_OPT_INT, K(roll_count), "0", NULL, 0, 1e12, "file", 0, NULL,
     "Close a file after this many rows; 0 = no row limit."},
    {"connection_string", SP_OPT_STRING, K(connection_string), NULL, NULL, 0, 0, "postgresql",
     SP_OPT_REQUIRED | SP_OPT_NONEMPTY | SP_OPT_CONNECTION, NULL, "libpq connection string (\"host=... dbname=...\" or a postgresql:// URI)."},
    {"table", SP_OPT_STRING, K(table), NULL, NULL, 0, 0, "postgresql", SP_OPT_DERIVED | SP_OPT_NONEMPTY, NULL,
     "Target table. Default: the dataset name."},
    {"uri", SP_OPT_STRING, K(uri), NULL, NULL, 0, 0, "mongodb", SP_OPT_REQUIRED | SP_OPT_NONEMPTY | SP_OPT_CONNECTION,
     NULL,
     "MongoDB connection URI (mongodb://host:port)."},
    {"database", SP_OPT_STRING, K(database), "stockpipe", NULL, 0, 0, "mongodb", SP_OPT_NONEMPTY, NULL,
     "MongoDB database."},
    {"collection", SP_OPT_STRING, K(collection), NULL, NULL, 0, 0, "mongodb", SP_OPT_DERIVED | SP_OPT_NONEMPTY,
     NULL, "MongoDB collection. Default: the dataset name."},
    {"brokers", SP_OPT_STRING, K(brokers), NULL, NULL, 0, 0, "kafka", SP_OPT_REQUIRED | SP_OPT_NONEMPTY, NULL,
     "Kafka bootstrap servers, host:port[,host:port...]."},
    {"topic", SP_OPT_STRING, K(topic), NULL, NULL, 0, 0, "kafka", SP_OPT_REQUIRED | SP_OPT_NONEMPTY, NULL,
     "Kafka topic rows are produced to."},
};
const sp_option_table sp_sink_options = {"sink", "type", sink_rows, COUNT(sink_rows)};
#undef K

/* ---- providers ------------------------------------------------------------------ */
#define V(field) offsetof(sp_config_provider, field)
static const sp_option provider_rows[] = {
    {"base_url", SP_OPT_STRING, V(base_url), NULL, NULL, 0, 0, NULL, SP_OPT_DERIVED | SP_OPT_NONEMPTY, NULL,
     "scheme://host[:port] replacing the real API's (paths stay the real ones). Default: the real API "
     "(table below). STOCKPIPE_<NAME>_BASE_URL overrides it."},
    {"rate_limit", SP_OPT_NUMBER, V(rate_limit), NULL, NULL, 0, 10000, NULL, SP_OPT_DERIVED, NULL,
     "Requests per second at most; 0 = unlimited. Default: per provider (table below)."},
    {"max_in_flight", SP_OPT_INT, V(max_in_flight), NULL, NULL, 1, 1000, NULL, SP_OPT_DERIVED, NULL,
     "Concurrent requests at most. Default: per provider (table below)."},
    {"timeout", SP_OPT_INT, V(timeout), NULL, NULL, 1, 3600, NULL, SP_OPT_DERIVED, NULL,
     "Seconds a whole request may take. Default: per provider (table below)."},
    {"daily_limit", SP_OPT_INT, V(daily_limit), NULL, NULL, 0, 100000000, NULL, SP_OPT_DERIVED, NULL,
     "Requests per UTC day at most, for all sources using the provider together (counted in the state store "
     "across restarts); requests over it are deferred to the next day. Each scheduled round of any of its "
     "sources spends what is left today / the rounds all of them still run today; tickers rotate; `backfill` "
     "spends what is left beyond a reserve for the live rounds (--quota-reserve, default 20 %) and stops, to "
     "resume the next day (docs/OPERATIONS.md \"Daily quotas\"); 0 = none. Default: the free tier where "
     "documented (table below)."},
};
const sp_option_table sp_provider_options = {"provider", NULL, provider_rows, COUNT(provider_rows)};
#undef V

bool sp_option_applies(const sp_option *opt, const char *variant) {
  if (!opt->applies_to) return true;
  if (!variant) return false;
  size_t n = strlen(variant);
  for (const char *p = opt->applies_to; *p;) {
    const char *end = strchr(p, ' ');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n && strncmp(p, variant, n) == 0) return true;
    if (!end) break;
    p = end + 1;
  }
  return false;
}
