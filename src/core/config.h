/*
 * config.h — the pipeline configuration (SPEC §3, §7): `stockpipe.yaml` loaded into
 * plain structs every component reads.
 *
 * Shape (Flume's): `pipeline` settings, `agents` owning `sources`, `channels` and
 * `sinks`, `bindings` (source -> channels, channel -> one sink) and optional
 * `providers.<name>` settings.  Every key is described once in an option table
 * (config_schema.c): its type, default, allowed values/range and help text.  The
 * tables drive parsing, defaults, validation and docs/CONFIGURATION.md.
 *
 * Loading (sp_config_load):
 *   - built-in defaults are SPEC §3's YAML (config_defaults.c, identical to
 *     config/stockpipe.yaml);
 *   - a file's `pipeline` keys override the defaults key by key (nested `log`,
 *     `http`, `retention_days` too); if the file has any of agents / sources /
 *     channels / sinks / bindings, those five sections come from the file only
 *     (the default pipeline is replaced), else the default pipeline is kept;
 *   - STOCKPIPE_DATA_DIR overrides `data_dir` (the CLI's --data-dir wins over both,
 *     via sp_config_set_data_dir);
 *   - keys a component omits get their table default; defaults that depend on the
 *     component (a sink's path, prefix, compression, table...) are derived from
 *     the dataset that reaches it (see the help text in the tables);
 *   - strict validation: every problem becomes one "file:line:column: message"
 *     (1-based) line in an sp_config_diag; up to SP_CONFIG_MAX_ERRORS are kept.
 *
 * Paths: relative sink paths and channel directories are relative to data_dir;
 * `credentials`, `sp500_file` and `log.file` relative to the config file's folder
 * (no config file: the current directory).  The loader fills the *_path fields
 * with the resolved paths; sp_config_set_data_dir re-resolves them.
 *
 * Ownership: sp_config_load allocates one sp_config; sp_config_free releases it
 * and everything it points to.  All strings and arrays inside belong to the config.
 * A loaded config is read-only and may be shared by threads.
 */
#ifndef STOCKPIPE_CORE_CONFIG_H
#define STOCKPIPE_CORE_CONFIG_H

#include "core/http.h"
#include "core/log.h"
#include "core/schedule.h"
#include "stockpipe/error.h"
#include "stockpipe/schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A list of owned strings. */
typedef struct sp_strlist {
  char **items;
  size_t count;
} sp_strlist;

/* Where something was written: for error messages of later stages. */
typedef struct sp_config_mark {
  const char *file; /* points into the sp_config (its file name, or "<built-in defaults>") */
  int line;         /* 1-based; 0 when unknown */
  int column;       /* 1-based */
} sp_config_mark;

/* ---- providers (SPEC §3 `providers.<name>`) ---------------------------------- */
typedef enum sp_provider_id {
  SP_PROVIDER_YAHOO = 0,
  SP_PROVIDER_ALPHAVANTAGE,
  SP_PROVIDER_FINNHUB,
  SP_PROVIDER_NEWSAPI,
  SP_PROVIDER_FRED,
  SP_PROVIDER_WORLDBANK,
  SP_PROVIDER_FEDRESERVE,
  SP_PROVIDER_TREASURY,
  SP_PROVIDER_COUNT
} sp_provider_id;

/* A provider's effective HTTP settings: `providers.<name>` from the file over the
 * built-in defaults, which are the provider module's (sp_source_provider.http and
 * daily_limit, via sp_provider_module in config_schema.h).  STOCKPIPE_<NAME>_BASE_URL
 * is applied later by the HTTP client and wins over base_url. */
typedef struct sp_config_provider {
  sp_provider_id id;
  const char *name;      /* "yahoo", ... (static) */
  char *base_url;        /* scheme://host[:port] of the real API unless overridden */
  double rate_limit;     /* requests per second; 0 = unlimited */
  int64_t max_in_flight; /* concurrent requests */
  int64_t timeout;       /* whole-request time-out, seconds */
  int64_t daily_limit;   /* requests per UTC day, 0 = none (core/quota.h) */
  bool needs_key;        /* finnhub, newsapi, alphavantage, fred */
} sp_config_provider;

/* ---- sources ------------------------------------------------------------------ */
typedef enum sp_tickers_kind {
  SP_TICKERS_NONE = 0, /* dataset without tickers (macroeconomic, policy) */
  SP_TICKERS_MAG7,     /* pipeline.mag7_tickers */
  SP_TICKERS_SP500,    /* the symbols in pipeline.sp500_file */
  SP_TICKERS_LIST      /* the explicit `list` */
} sp_tickers_kind;

typedef struct sp_tickers {
  sp_tickers_kind kind;
  sp_strlist list; /* SP_TICKERS_LIST only */
} sp_tickers;

typedef enum sp_bar_interval { SP_BAR_1H = 0, SP_BAR_1D } sp_bar_interval;

typedef struct sp_config_source {
  char *name;
  sp_dataset_id dataset;
  sp_strlist providers;         /* in priority order (first listed wins for fundamentals) */
  sp_tickers tickers;           /* financial_data, stock_movements, news */
  sp_schedule schedule;
  sp_bar_interval bar_interval; /* stock_movements */
  sp_strlist include_indicators;/* stock_movements: sma_20 sma_50 ema_12 ema_26 rsi_14 macd bbands atr_14 */
  bool sentiment_analysis;      /* news */
  sp_strlist indicators;        /* macroeconomic: interest_rate unemployment_rate gdp_growth ... */
  sp_strlist event_types;       /* policy: press_release monetary_policy ... */
  int64_t initial_history_days; /* history fetched on a series' first poll (stock_movements:
                                   60 for 1h, 730 for 1d unless set; other datasets: 0 = the
                                   source's own choice) */
  bool enabled;
  /* Filled from `bindings` and `agents`: */
  sp_strlist channels;          /* channel names this source puts into (fan-out) */
  const char *agent;            /* owning agent's name (points into the config) */
  sp_config_mark mark;
} sp_config_source;

/* ---- channels ----------------------------------------------------------------- */
typedef enum sp_channel_type { SP_CHANNEL_MEMORY = 0, SP_CHANNEL_FILE, SP_CHANNEL_KAFKA } sp_channel_type;

typedef struct sp_config_channel {
  char *name;
  sp_channel_type type;
  int64_t capacity;              /* events held at most */
  int64_t transaction_capacity;  /* events per put/take transaction (<= capacity) */
  char *checkpoint_dir;          /* file: as written (default .channels/<name>/checkpoint) */
  char *data_dir;                /* file: as written (default .channels/<name>/data) */
  char *checkpoint_path;         /* file: resolved against pipeline.data_dir */
  char *data_path;               /* file: resolved against pipeline.data_dir */
  int64_t min_free_disk_mb;      /* file: refuse puts when the disk has less free space */
  char *brokers;                 /* kafka: "host:port,host:port" */
  char *topic;                   /* kafka */
  int64_t session_timeout_ms;    /* kafka: the consumer group drops a writer silent this long */
  int64_t max_poll_interval_ms;  /* kafka: ... or one taking nothing for this long */
  int64_t metadata_refresh_ms;   /* kafka: how often the partition count is re-read */
  /* Filled from `bindings` and `agents`: */
  const char *sink;              /* the one sink draining it */
  int dataset;                   /* sp_dataset_id: kafka `dataset` key, else its sources' (-1 if neither) */
  const char *agent;
  sp_config_mark mark;
} sp_config_channel;

/* ---- sinks -------------------------------------------------------------------- */
typedef enum sp_sink_type { SP_SINK_FILE = 0, SP_SINK_POSTGRESQL, SP_SINK_MONGODB, SP_SINK_KAFKA } sp_sink_type;
typedef enum sp_file_format { SP_FORMAT_PARQUET = 0, SP_FORMAT_CSV, SP_FORMAT_JSONL } sp_file_format;
typedef enum sp_compression {
  SP_COMPRESSION_SNAPPY = 0,
  SP_COMPRESSION_ZSTD,
  SP_COMPRESSION_GZIP,
  SP_COMPRESSION_UNCOMPRESSED
} sp_compression;

typedef struct sp_config_sink {
  char *name;
  sp_sink_type type;
  int64_t batch_size;          /* events taken per transaction; every sink type */
  /* file */
  char *path;                  /* template as written, %Y %m %d %H escapes (default <tier>/<dataset>/%Y-%m-%d) */
  char *path_template;         /* resolved against pipeline.data_dir */
  char *file_prefix;           /* default "<dataset>_" */
  sp_file_format format;
  sp_compression compression;  /* default: the dataset's (snappy raw, zstd context) for parquet, else uncompressed */
  int64_t roll_interval;       /* seconds an open file may stay open; 0 = no time limit */
  int64_t roll_size_mb;        /* close a file at this size; 0 = no size limit */
  int64_t roll_count;          /* close a file after this many rows; 0 = no row limit */
  /* postgresql */
  char *connection_string;
  char *table;                 /* default: the dataset name */
  /* mongodb */
  char *uri;
  char *database;
  char *collection;            /* default: the dataset name */
  /* kafka */
  char *brokers;
  char *topic;
  /* Filled from `bindings` and `agents`: */
  const char *channel;         /* the channel it drains (NULL if unbound) */
  int dataset;                 /* sp_dataset_id reaching it, -1 if unknown */
  const char *agent;
  sp_config_mark mark;
} sp_config_sink;

/* ---- agents ------------------------------------------------------------------- */
typedef struct sp_config_agent {
  char *name;
  sp_strlist sources;
  sp_strlist channels;
  sp_strlist sinks;
  sp_config_mark mark;
} sp_config_agent;

/* ---- pipeline ----------------------------------------------------------------- */
typedef struct sp_config_pipeline {
  char *data_dir;              /* as effective (file, STOCKPIPE_DATA_DIR, --data-dir) */
  char *credentials;           /* as written */
  char *credentials_path;      /* resolved against the config file's folder */
  sp_strlist mag7_tickers;
  char *sp500_file;            /* as written */
  char *sp500_path;            /* resolved against the config file's folder */
  int64_t retention_days[SP_DS_COUNT]; /* by sp_dataset_id; 0 = keep forever */
  sp_log_level log_level;      /* log.h level */
  char *log_file;              /* as written; "" = stderr only */
  char *log_path;              /* resolved against the config folder, "" when log_file is "" */
  char *http_listen;           /* "host:port", "" = off */
} sp_config_pipeline;

typedef struct sp_config {
  char *file;                  /* the file loaded, or NULL for the built-in defaults */
  char *base_dir;              /* folder the file's relative paths start from ("." without a file) */
  sp_config_pipeline pipeline;
  sp_config_agent *agents;     size_t nagents;
  sp_config_source *sources;   size_t nsources;
  sp_config_channel *channels; size_t nchannels;
  sp_config_sink *sinks;       size_t nsinks;
  sp_config_provider providers[SP_PROVIDER_COUNT]; /* by sp_provider_id, always all 8 */
} sp_config;

/* ---- diagnostics -------------------------------------------------------------- */
#define SP_CONFIG_MAX_ERRORS 20

typedef struct sp_config_diag {
  int count;        /* messages kept (<= SP_CONFIG_MAX_ERRORS) */
  int dropped;      /* further errors found but not kept */
  char messages[SP_CONFIG_MAX_ERRORS][SP_ERROR_MSG_MAX]; /* "file:line:column: text" */
} sp_config_diag;

/* Print every message of `diag` to `out`, one per line, plus "(N more errors)". */
void sp_config_diag_print(const sp_config_diag *diag, FILE *out);

/* ---- loading ------------------------------------------------------------------ */

/* The config file to use per SPEC §7: `cli_path` when not NULL, else
 * $STOCKPIPE_CONFIG when set and non-empty, else "config/stockpipe.yaml" when that
 * file exists, else NULL (= built-in defaults).  The result points to `cli_path`,
 * the environment or a static string: do not free it. */
const char *sp_config_locate(const char *cli_path);

/* Load `path` (NULL = built-in defaults only) over the built-in defaults, apply
 * STOCKPIPE_DATA_DIR, validate, and store a new config in *out (free it with
 * sp_config_free).  Returns 0; SP_ERR_IO when the file cannot be read; SP_ERR_CONFIG
 * when it is malformed or invalid; SP_ERR_NOMEM.  On failure *out is NULL and
 * `diag` (may be NULL) holds the "file:line:column: message" lines (for SP_ERR_IO:
 * "file: cannot read: reason"). */
int sp_config_load(const char *path, sp_config **out, sp_config_diag *diag);

/* Same, from YAML text in memory; `name` is the file name used in messages and the
 * folder relative paths start from (dirname of `name`). */
int sp_config_load_string(const char *yaml, size_t len, const char *name, sp_config **out, sp_config_diag *diag);

/* Release a config (NULL is fine). */
void sp_config_free(sp_config *cfg);

/* Replace data_dir (the CLI's --data-dir) and re-resolve every data_dir-relative
 * path.  Returns 0, SP_ERR_INVALID for an empty dir, SP_ERR_NOMEM. */
int sp_config_set_data_dir(sp_config *cfg, const char *data_dir, sp_error *err);

/* Replace the credentials path (the CLI's --credentials or STOCKPIPE_CREDENTIALS):
 * `path` is used as given (relative to the current directory) and stored in
 * pipeline.credentials and pipeline.credentials_path.  Returns 0 or SP_ERR_NOMEM. */
int sp_config_set_credentials_path(sp_config *cfg, const char *path, sp_error *err);

/* ---- lookups ------------------------------------------------------------------ */
/* By name; NULL when absent.  The pointers stay valid until sp_config_free. */
const sp_config_source *sp_config_find_source(const sp_config *cfg, const char *name);
const sp_config_channel *sp_config_find_channel(const sp_config *cfg, const char *name);
const sp_config_sink *sp_config_find_sink(const sp_config *cfg, const char *name);
const sp_config_agent *sp_config_find_agent(const sp_config *cfg, const char *name);
/* Provider settings by name ("yahoo"...), NULL for an unknown name. */
const sp_config_provider *sp_config_find_provider(const sp_config *cfg, const char *name);
/* Copy p's base_url, rate_limit, max_in_flight and timeout into `settings` (other
 * fields, e.g. burst, stay); base_url points into the config: keep the config alive
 * while settings is used, or copy it. */
void sp_config_provider_apply(const sp_config_provider *p, sp_http_provider_settings *settings);
/* The provider id for a name, or -1. */
int sp_provider_id_from_name(const char *name);
const char *sp_provider_name(sp_provider_id id);

/* Resolve a path written relative to the config file's folder (the rule used for
 * credentials, sp500_file and log.file; also for other shipped data files such as
 * "config/fomc_calendar.csv"): absolute paths stay; with no config file, relative to
 * the current directory; a path starting with the config folder's own name
 * ("config/x" beside config/stockpipe.yaml) is taken from that folder's parent.
 * Returns a malloc'd string the caller frees, NULL on allocation failure. */
char *sp_config_resolve_path(const sp_config *cfg, const char *relative);

/* Join `relative` to `base` ("base/relative"); an absolute `relative` is returned
 * as is.  Returns a malloc'd string the caller frees, NULL on allocation failure. */
char *sp_path_join(const char *base, const char *relative);

/* Names spelled by the enums above ("memory", "parquet", "snappy", "1h"...), static. */
const char *sp_channel_type_name(sp_channel_type t);
const char *sp_sink_type_name(sp_sink_type t);
const char *sp_file_format_name(sp_file_format f);
const char *sp_compression_name(sp_compression c);
const char *sp_bar_interval_name(sp_bar_interval b);

/* Find the next password inside a database connection string at or after byte
 * `from`: the `password=` value of a libpq key=value string or of a URI query
 * (`?password=...`), or the password of a URI's `user:password@`.  Returns its
 * byte offset and sets *len, or -1 when there is none.  Used to register the
 * passwords of `connection_string` and `uri` as log secrets when a config loads
 * and to write them as REDACTED in `config show`. */
long sp_connection_password_next(const char *conn, size_t from, size_t *len);

/* Write the effective config as YAML (same keys as the file; derived defaults
 * shown as resolved; passwords inside connection strings written as REDACTED).  Returns 0 or SP_ERR_IO. */
int sp_config_write_yaml(const sp_config *cfg, FILE *out);

/* Write docs/CONFIGURATION.md's reference section (every key of every option
 * table with type, default, allowed values and meaning) as Markdown. */
int sp_config_write_reference(FILE *out);

#endif
