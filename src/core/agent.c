/*
 * agent.c — the running pipeline (see agent.h): channels, sinks and sink runners
 * built from the config's agents, and one-round collection of a source into its
 * channels with watermarks and indicator state committed alongside its rows.
 */
#include "core/agent.h"

#include "analytics/indicators.h"
#include "analytics/sentiment.h"
#include "core/array.h"
#include "core/backfill.h"
#include "core/channel.h"
#include "core/channel_kafka.h"
#include "core/channel_file.h"
#include "core/durable.h"
#include "core/http.h"
#include "core/quota.h"
#include "core/scheduler.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/membudget.h"
#include "core/metrics.h"
#include "core/module.h"
#include "core/sink_runner.h"
#include "core/state.h"
#include "core/timeutil.h"
#include "core/universe.h"
#include "core/quarantine.h"
#include "core/validate.h"
#include "sinks/sink.h"
#include "sinks/sink_kafka.h"
#include "sinks/sink_mongo.h"
#include "sinks/sink_postgres.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define PIPELINE_MEMORY_BUDGET (64u << 20) /* bytes for channel events and sink batches */
#define PUT_TIMEOUT_US (30 * SP_US_PER_SEC)  /* backpressure: how long a put waits for room */
#define COMMIT_MARKS 64                      /* recent put commits remembered per channel */
#define LAST_RUN_KEY "@last_run"             /* state-store watermark key of a source's last round */

/* "The channel's first `put_count` events were committed by `at_us`": the recent
 * put commits of one channel, oldest first, so /health can bound how long the
 * oldest event still buffered has waited (sp_pipeline_sink_health). */
typedef struct commit_mark {
  uint64_t put_count; /* EventPutSuccessCount right after the commit */
  int64_t at_us;      /* wall clock just after it */
} commit_mark;

typedef struct channel_marks {
  commit_mark marks[COMMIT_MARKS];
  size_t count;
} channel_marks;

typedef struct pipeline_source {
  const sp_config_source *cfg;
  sp_source_counters counters;
  sp_channel **channels; /* the channels it is bound to (fan-out) */
  size_t *channel_index; /* their indexes in the config's channels */
  size_t nchannels;
  size_t txn_capacity;   /* smallest transactionCapacity of those channels */
  unsigned indicator_mask;
} pipeline_source;

struct sp_pipeline {
  const sp_config *cfg;
  int lock_fd;                  /* <data_dir>/.lock, held (flock) while the pipeline is open */
  const sp_credentials *creds;
  const volatile bool *stop;
  sp_membudget budget;
  sp_state *state;
  sp_http_client *http;
  sp_source_transport transport;
  sp_source_cache *cache;
  sp_universe universe;
  sp_source_company *companies; /* views into universe */
  sp_channel **channels;        /* by config channel index */
  sp_sink **sinks;              /* by config sink index */
  sp_sink_runner **runners;     /* by config sink index */
  pipeline_source *sources;     /* by config source index */
  channel_marks *marks;         /* by config channel index, guarded by marks_mutex */
  pthread_mutex_t marks_mutex;
  sp_latency *batch_latency;    /* each sink's committed batches (sp_pipeline_batch_latency) */
  int64_t opened_us;            /* wall clock when the pipeline was opened */
  bool started;
  bool spread_quotas;           /* rounds spend their share of daily quotas (the daemon) */
  int quota_reserve_percent;    /* backfill rounds leave this share of daily limits (core/quota.h) */
};

/* ---- building ------------------------------------------------------------------- */

/* One pipeline per data directory: two processes writing the same file channels and
 * state store would corrupt them, so the second one is refused, naming the holder. */
static int lock_data_dir(sp_pipeline *p, const char *data_dir, sp_error *err) {
  char path[4096];
  snprintf(path, sizeof path, "%s/.lock", data_dir);
  p->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (p->lock_fd < 0) return sp_error_set(err, SP_ERR_IO, "cannot open %s: %s", path, strerror(errno));
  if (flock(p->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = "";
    ssize_t n = pread(p->lock_fd, holder, sizeof holder - 1, 0);
    holder[n > 0 ? n : 0] = '\0';
    holder[strcspn(holder, "\n")] = '\0';
    return sp_error_set(err, SP_ERR_IO, "data directory %s is in use by another stockpipe process%s%s (lock %s)",
                        data_dir, *holder ? " pid " : "", holder, path);
  }
  char pid[32];
  int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(p->lock_fd, 0) != 0 || pwrite(p->lock_fd, pid, (size_t)len, 0) != len)
    return sp_error_set(err, SP_ERR_IO, "cannot write %s: %s", path, strerror(errno));
  return SP_OK;
}

/* The open function `symbol` of a channel or sink type built as a shared module
 * (core/module.h), for the `kind` ("channel", "sink") called `name`. */
static int module_open_function(const char *kind, const char *name, const char *module, const char *symbol,
                                void **open, sp_error *err) {
  int rc = sp_module_symbol(module, symbol, open, err);
  if (rc) sp_error_prefix(err, "%s %s", kind, name);
  return rc;
}

static int open_channel(sp_pipeline *p, const sp_config_channel *cc, sp_channel **out, sp_error *err) {
  sp_channel_config base = {.name = cc->name,
                            .capacity = (size_t)cc->capacity,
                            .transaction_capacity = (size_t)cc->transaction_capacity,
                            .budget = &p->budget};
  switch (cc->type) {
  case SP_CHANNEL_MEMORY: return sp_channel_memory_open(&base, out, err);
  case SP_CHANNEL_FILE: {
    /* Prepared fan-out transactions found at replay are kept exactly when the state
     * store recorded their commit point (core/state.h). */
    sp_channel_file_config fc = {.channel = base,
                                 .checkpoint_dir = cc->checkpoint_path,
                                 .data_dir = cc->data_path,
                                 .min_free_bytes = (uint64_t)cc->min_free_disk_mb << 20,
                                 .resolver = sp_state_resolve_txn,
                                 .resolver_ctx = p->state};
    /* min_free_disk_mb 0 means "no minimum"; the channel reads 0 as its default. */
    if (cc->min_free_disk_mb == 0) fc.min_free_bytes = 1;
    int rc = sp_channel_file_open(&fc, out, err);
    if (rc) sp_error_prefix(err, "channel %s", cc->name);
    return rc;
  }
  case SP_CHANNEL_KAFKA: {
    /* A writer agent's channel (no source puts into it) reads the topic's rows of
     * `dataset`; dead letters of malformed messages go to the quarantine. */
    char qdir[4096];
    snprintf(qdir, sizeof qdir, "%s/quarantine/channels/%s", p->cfg->pipeline.data_dir, cc->name);
    sp_channel_kafka_config kc = {.base = base,
                                  .brokers = cc->brokers,
                                  .topic = cc->topic,
                                  .dataset = cc->dataset,
                                  .quarantine_dir = qdir,
                                  .stop = p->stop};
    void *open = NULL;
    int rc = module_open_function("channel", cc->name, "kafka", "sp_channel_kafka_open", &open, err);
    return rc ? rc : ((__typeof__(sp_channel_kafka_open) *)open)(&kc, out, err);
  }
  }
  return sp_error_set(err, SP_ERR_CONFIG, "channel %s: type %s is not available in this build", cc->name,
                      sp_channel_type_name(cc->type));
}

static int open_sink(sp_pipeline *p, const sp_config_sink *sc, sp_sink **out, sp_error *err) {
  void *open = NULL;
  switch (sc->type) {
  case SP_SINK_FILE: break;
  case SP_SINK_POSTGRESQL: {
    sp_sink_postgres_config pc = {.name = sc->name,
                                  .conninfo = sc->connection_string,
                                  .table = sc->dataset >= 0 ? sc->table : NULL,
                                  .dataset = sc->dataset,
                                  .budget = &p->budget};
    int rc = module_open_function("sink", sc->name, "sink-postgres", "sp_sink_postgres_open", &open, err);
    return rc ? rc : ((__typeof__(sp_sink_postgres_open) *)open)(&pc, out, err);
  }
  case SP_SINK_KAFKA: {
    sp_sink_kafka_config kc = {.name = sc->name,
                               .brokers = sc->brokers,
                               .topic = sc->dataset >= 0 ? sc->topic : NULL,
                               .dataset = sc->dataset,
                               .budget = &p->budget};
    int rc = module_open_function("sink", sc->name, "kafka", "sp_sink_kafka_open", &open, err);
    return rc ? rc : ((__typeof__(sp_sink_kafka_open) *)open)(&kc, out, err);
  }
  case SP_SINK_MONGODB: {
    sp_sink_mongo_config mc = {.name = sc->name,
                               .uri = sc->uri,
                               .database = sc->database,
                               .collection = sc->dataset >= 0 ? sc->collection : NULL,
                               .dataset = sc->dataset,
                               .budget = &p->budget};
    int rc = module_open_function("sink", sc->name, "sink-mongo", "sp_sink_mongo_open", &open, err);
    return rc ? rc : ((__typeof__(sp_sink_mongo_open) *)open)(&mc, out, err);
  }
  }
  sp_sink_file_config fc = {.name = sc->name,
                            .data_dir = p->cfg->pipeline.data_dir,
                            .path = sc->path,
                            .file_prefix = sc->file_prefix,
                            .format = sp_file_format_name(sc->format),
                            .compression = sp_compression_name(sc->compression),
                            .roll_rows = (size_t)sc->roll_count,
                            .roll_bytes = (size_t)sc->roll_size_mb << 20,
                            .budget = &p->budget};
  return sp_sink_file_open(&fc, out, err);
}

/* The longest a sink's runner waits to fill a batch: roll_interval, else the runner's 1 s. */
static int64_t sink_batch_timeout_us(const sp_config_sink *sc) {
  return sc->roll_interval > 0 ? sc->roll_interval * SP_US_PER_SEC : 0;
}

/* Remember that channel `ci` had committed its first EventPutSuccessCount events by now. */
static void record_commit_mark(sp_pipeline *p, size_t ci) {
  sp_channel_counters c;
  sp_channel_counters_snapshot(p->channels[ci], &c);
  int64_t now = sp_now_us();
  pthread_mutex_lock(&p->marks_mutex);
  channel_marks *m = &p->marks[ci];
  if (c.EventPutSuccessCount > 0 && (m->count == 0 || m->marks[m->count - 1].put_count < c.EventPutSuccessCount)) {
    /* Forgetting the oldest mark only makes later ones answer for its events: their
     * time is later, so /health can only underestimate how long an event waited. */
    if (m->count == COMMIT_MARKS) memmove(m->marks, m->marks + 1, --m->count * sizeof *m->marks);
    m->marks[m->count++] = (commit_mark){c.EventPutSuccessCount, now};
  }
  pthread_mutex_unlock(&p->marks_mutex);
}

static int setup_http(sp_pipeline *p, sp_error *err) {
  int rc = sp_http_client_new(&p->http, err);
  if (rc) return rc;
  size_t count;
  const sp_source_provider *const *providers = sp_source_providers(&count);
  for (size_t i = 0; i < count; i++) {
    sp_http_provider_settings s = providers[i]->http;
    const sp_config_provider *cp = sp_config_find_provider(p->cfg, providers[i]->name);
    if (cp) { /* the config (its defaults or the user's `providers.<name>`) decides */
      s.base_url = cp->base_url;
      s.rate_limit = cp->rate_limit;
      s.max_in_flight = (int)cp->max_in_flight;
      s.timeout_ms = (int)(cp->timeout * 1000);
    }
    rc = sp_http_set_provider(p->http, &s, err);
    if (rc) return rc;
  }
  p->transport = sp_source_transport_http(p->http);
  return SP_OK;
}

static bool needs_universe(const sp_config *cfg) {
  for (size_t i = 0; i < cfg->nsources; i++)
    if (cfg->sources[i].tickers.kind == SP_TICKERS_SP500 || cfg->sources[i].dataset == SP_DS_NEWS) return true;
  return false;
}

static int setup_sources(sp_pipeline *p, sp_error *err) {
  const sp_config *cfg = p->cfg;
  p->sources = calloc(cfg->nsources ? cfg->nsources : 1, sizeof *p->sources);
  if (!p->sources) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < cfg->nsources; i++) {
    pipeline_source *ps = &p->sources[i];
    const sp_config_source *sc = &cfg->sources[i];
    ps->cfg = sc;
    ps->channels = calloc(sc->channels.count ? sc->channels.count : 1, sizeof *ps->channels);
    ps->channel_index = calloc(sc->channels.count ? sc->channels.count : 1, sizeof *ps->channel_index);
    if (!ps->channels || !ps->channel_index) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    ps->txn_capacity = SIZE_MAX;
    for (size_t c = 0; c < sc->channels.count; c++)
      for (size_t k = 0; k < cfg->nchannels; k++)
        if (strcmp(cfg->channels[k].name, sc->channels.items[c]) == 0) {
          ps->channel_index[ps->nchannels] = k;
          ps->channels[ps->nchannels++] = p->channels[k];
          if ((size_t)cfg->channels[k].transaction_capacity < ps->txn_capacity)
            ps->txn_capacity = (size_t)cfg->channels[k].transaction_capacity;
        }
    if (ps->nchannels == 0)
      return sp_error_set(err, SP_ERR_CONFIG, "source %s is bound to no channel", sc->name);
    if (sc->dataset == SP_DS_STOCK_MOVEMENTS) {
      int rc = sp_ind_mask_from_names((const char *const *)sc->include_indicators.items,
                                      sc->include_indicators.count, &ps->indicator_mask, err);
      if (rc) {
        sp_error_prefix(err, "source %s", sc->name);
        return rc;
      }
    }
    if (sp_metrics_register(SP_METRICS_SOURCE, sc->name, &ps->counters))
      return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  return SP_OK;
}

int sp_pipeline_open(const sp_config *config, const sp_credentials *credentials, const volatile bool *stop,
                     sp_pipeline **out, sp_error *err) {
  *out = NULL;
  sp_pipeline *p = calloc(1, sizeof *p);
  if (!p) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  p->cfg = config;
  p->creds = credentials;
  p->stop = stop;
  p->lock_fd = -1;
  p->quota_reserve_percent = SP_QUOTA_BACKFILL_RESERVE_PERCENT;
  p->opened_us = sp_now_us();
  pthread_mutex_init(&p->marks_mutex, NULL);
  sp_membudget_init(&p->budget, PIPELINE_MEMORY_BUDGET);
  int rc = SP_OK;
  if (sp_latency_new("stockpipe_sink_batch_duration_seconds",
                     "Duration of one sink batch: sink write and commit, retries included, and the take "
                     "commit.",
                     "sink", &p->batch_latency))
    rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  if (!rc) rc = sp_mkdirs(config->pipeline.data_dir, err);
  if (!rc) rc = lock_data_dir(p, config->pipeline.data_dir, err);
  if (!rc) rc = sp_state_open(config->pipeline.data_dir, &p->state, err);
  if (!rc) rc = setup_http(p, err);
  if (!rc && sp_source_cache_new(&p->cache)) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  if (!rc && needs_universe(config)) {
    rc = sp_universe_load(config->pipeline.sp500_path, &p->universe, err);
    if (!rc) {
      p->companies = calloc(p->universe.count, sizeof *p->companies);
      if (!p->companies) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
      for (size_t i = 0; !rc && i < p->universe.count; i++) {
        p->companies[i].symbol = p->universe.entries[i].symbol;
        p->companies[i].name = p->universe.entries[i].name;
      }
    } else {
      sp_error_prefix(err, "pipeline.sp500_file");
    }
  }
  if (!rc) {
    p->channels = calloc(config->nchannels ? config->nchannels : 1, sizeof *p->channels);
    p->sinks = calloc(config->nsinks ? config->nsinks : 1, sizeof *p->sinks);
    p->runners = calloc(config->nsinks ? config->nsinks : 1, sizeof *p->runners);
    p->marks = calloc(config->nchannels ? config->nchannels : 1, sizeof *p->marks);
    if (!p->channels || !p->sinks || !p->runners || !p->marks) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; !rc && i < config->nchannels; i++) {
    rc = open_channel(p, &config->channels[i], &p->channels[i], err);
    if (!rc) record_commit_mark(p, i); /* events a durable channel recovered count from now */
  }
  for (size_t i = 0; !rc && i < config->nsinks; i++) {
    const sp_config_sink *sc = &config->sinks[i];
    rc = open_sink(p, sc, &p->sinks[i], err);
    sp_channel *ch = NULL;
    for (size_t k = 0; !rc && sc->channel && k < config->nchannels; k++)
      if (strcmp(config->channels[k].name, sc->channel) == 0) ch = p->channels[k];
    if (!rc && !ch) rc = sp_error_set(err, SP_ERR_CONFIG, "sink %s drains no channel", sc->name);
    if (!rc) {
      sp_sink_runner_config rcfg = {.channel = ch,
                                    .sink = p->sinks[i],
                                    .data_dir = config->pipeline.data_dir,
                                    .batch_size = (size_t)sc->batch_size,
                                    .batch_timeout_us = sink_batch_timeout_us(sc),
                                    .batch_latency = p->batch_latency};
      rc = sp_sink_runner_create(&rcfg, &p->runners[i], err);
    }
  }
  if (!rc) rc = setup_sources(p, err);
  if (rc) {
    sp_pipeline_close(p);
    return rc;
  }
  *out = p;
  return SP_OK;
}

/* ---- one round of a source ------------------------------------------------------ */

/* The indicator state of one (ticker, interval) series touched in this round. */
typedef struct series_state {
  char key[SP_SOURCE_KEY_MAX]; /* the watermark key, also the state-store blob key */
  sp_ind_state *ind;
  bool borrowed;               /* ind is a backfill's own state (it stages and frees it) */
  bool dirty;                  /* pushed since the last commit */
} series_state;

typedef struct round_ctx {
  sp_pipeline *p;
  pipeline_source *ps;
  sp_put_txn *txn;
  sp_state_batch *batch;
  sp_buf event;
  series_state *series;
  size_t nseries, series_cap;
  int64_t now_us;
  long put_rows;
  long quarantined_rows;  /* rejected by validation or a parser, written to the quarantine */
  long flagged_rows;      /* stored with quality_flags */
  bool failed;            /* a put or commit failed: refuse further rows this round */
  sp_error failure;
  sp_backfill *backfill;  /* a backfill chunk's cursors (core/backfill.h); NULL when live */
  struct held_row *held;  /* backfill: the chunk's rows, put in time order after the round */
  size_t nheld, held_cap;
} round_ctx;

/* A backfill row kept until its round ends (providers send news newest first). */
typedef struct held_row {
  sp_row row;
  char *request;
  char key[SP_SOURCE_KEY_MAX];
  int64_t time;
} held_row;

static const char *round_credential(void *arg, const char *name) {
  round_ctx *rc = arg;
  for (int id = 0; id < SP_CRED_COUNT; id++)
    if (strcmp(sp_credential_json_name((sp_credential_id)id), name) == 0)
      return sp_credentials_get(rc->p->creds, (sp_credential_id)id);
  return NULL;
}

static bool round_watermark(void *arg, const char *key, int64_t *value) {
  round_ctx *rc = arg;
  bool found = false;
  sp_error err;
  if (sp_state_get_watermark(rc->p->state, rc->ps->cfg->name, key, value, &found, &err)) {
    SP_WARN("agent", "source %s: reading watermark %s: %s", rc->ps->cfg->name, key, err.msg);
    return false;
  }
  return found;
}

static int64_t round_daily_limit(void *arg, const char *provider) {
  round_ctx *rc = arg;
  const sp_config_provider *cp = sp_config_find_provider(rc->p->cfg, provider);
  return cp ? cp->daily_limit : 0;
}

/* Rounds every enabled source using `provider` still runs today (core/quota.h,
 * "Spreading"), from their schedules and recorded last runs; 0 when the pipeline does
 * not spread quotas (one-off rounds spend what is left). */
static int round_rounds_left(void *arg, const char *provider) {
  round_ctx *rc = arg;
  const sp_config *cfg = rc->p->cfg;
  if (!rc->p->spread_quotas) return 0;
  sp_quota_source *sources = calloc(cfg->nsources ? cfg->nsources : 1, sizeof *sources);
  if (!sources) return INT_MAX; /* out of memory: the smallest share, 1 */
  size_t n = 0;
  for (size_t i = 0; i < cfg->nsources; i++) {
    const sp_config_source *s = &cfg->sources[i];
    bool uses = false;
    for (size_t k = 0; k < s->providers.count && !uses; k++) uses = strcmp(s->providers.items[k], provider) == 0;
    if (!s->enabled || !uses) continue;
    bool found = false;
    int64_t last = 0;
    sp_error err;
    bool current = s == rc->ps->cfg;
    if (!current && sp_pipeline_last_run(rc->p, s, &last, &found, &err))
      SP_WARN("agent", "daily quota of %s: %s", provider, err.msg); /* counted as never run: a smaller share */
    sources[n++] = (sp_quota_source){.schedule = &s->schedule,
                                     .intraday = sp_scheduler_dataset_intraday(s->dataset),
                                     .current = current,
                                     .last_run_us = found ? last : SP_SCHEDULER_NEVER};
  }
  int rounds = sp_quota_rounds_left_today(sources, n, rc->now_us);
  free(sources);
  return rounds;
}

static int round_sentiment(void *arg, const char *text, sp_source_sentiment *out) {
  (void)arg;
  sp_sentiment s;
  int rc = sp_sentiment_score(sp_sentiment_model_default(), text, strlen(text), &s, NULL);
  if (rc) return rc;
  out->score = s.score;
  out->label = sp_sentiment_label_name(s.label);
  out->subjectivity = s.subjectivity;
  return SP_OK;
}

static series_state *find_series(round_ctx *rc, const char *key, sp_error *err) {
  for (size_t i = 0; i < rc->nseries; i++)
    if (strcmp(rc->series[i].key, key) == 0) return &rc->series[i];
  if (SP_ARRAY_RESERVE(rc->series, rc->series_cap, rc->nseries + 1, 64)) {
    sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    return NULL;
  }
  series_state *s = &rc->series[rc->nseries];
  memset(s, 0, sizeof *s);
  snprintf(s->key, sizeof s->key, "%s", key);
  s->ind = rc->backfill ? sp_backfill_indicators(rc->backfill, key) : NULL;
  if (s->ind) { /* a backfill before the series' first row: its own state, in its cursor */
    s->borrowed = true;
    rc->nseries++;
    return s;
  }
  sp_buf blob = SP_BUF_INIT;
  bool found = false;
  int r = sp_state_get_blob(rc->p->state, rc->ps->cfg->name, key, &blob, &found, err);
  if (!r && found) {
    r = sp_ind_state_deserialize(blob.data, blob.len, &s->ind, err);
    if (r) { /* a damaged state is rebuilt from the bars that follow, and said so */
      SP_WARN("agent", "source %s: indicator state of %s unreadable (%s); starting it again", rc->ps->cfg->name,
              key, err->msg);
      r = SP_OK;
      s->ind = NULL;
    }
  }
  sp_buf_free(&blob);
  if (r) return NULL;
  if (s->ind && sp_ind_state_mask(s->ind) != rc->ps->indicator_mask) {
    SP_WARN("agent", "source %s: include_indicators changed for %s; its indicator state starts again "
            "(indicators stay null until their lookback fills)", rc->ps->cfg->name, key);
    sp_ind_state_free(s->ind);
    s->ind = NULL;
  }
  if (!s->ind) s->ind = sp_ind_state_new(rc->ps->indicator_mask, err);
  if (!s->ind) return NULL;
  rc->nseries++;
  return s;
}

/* Bars get their indicator columns from the series' streaming state; *previous_close
 * (NaN for a series' first bar) is the close of the bar before, for the flag rules.
 * A bar not later than the series' last one cannot extend it: *out_of_order is set
 * and the row is left as it was (the caller quarantines it). */
static int complete_bar(round_ctx *rc, sp_row *row, const char *key, double *previous_close, bool *out_of_order,
                        sp_error *err) {
  series_state *s = find_series(rc, key, err);
  if (!s) return err->code ? err->code : SP_ERR_NOMEM;
  const sp_dataset_def *ds = row->ds;
  sp_ind_bar bar = {.bar_time = row->values[sp_dataset_column_index(ds, "bar_time")].u.i64,
                    .high = row->values[sp_dataset_column_index(ds, "high")].u.f64,
                    .low = row->values[sp_dataset_column_index(ds, "low")].u.f64,
                    .close = row->values[sp_dataset_column_index(ds, "close")].u.f64,
                    .volume = row->values[sp_dataset_column_index(ds, "volume")].u.i64};
  *out_of_order = sp_ind_state_bar_count(s->ind) > 0 && bar.bar_time <= sp_ind_state_last_time(s->ind);
  if (*out_of_order) return SP_OK;
  sp_ind_values values;
  int r = sp_ind_state_push(s->ind, &bar, &values, err);
  if (r) return r;
  s->dirty = true;
  *previous_close = bar.close - values.change; /* change = close - previous close */
  return sp_ind_state_fill_row(s->ind, row, err);
}

static int begin_txn(round_ctx *rc, sp_error *err) {
  rc->batch = sp_state_batch_new();
  if (!rc->batch) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  return sp_put_txn_begin(rc->ps->channels, rc->ps->nchannels, &rc->txn, err);
}

/* Commit the open transaction with its watermarks and indicator states. */
static int commit_txn(round_ctx *rc, sp_error *err) {
  int r = SP_OK;
  size_t n = rc->txn ? sp_put_txn_count(rc->txn) : 0;
  if (rc->backfill && rc->batch && sp_backfill_stage(rc->backfill, rc->batch))
    r = sp_error_set(err, SP_ERR_NOMEM, "out of memory saving backfill cursors");
  for (size_t i = 0; i < rc->nseries && n && !r; i++) {
    series_state *s = &rc->series[i];
    if (!s->dirty || s->borrowed) continue;
    sp_buf blob = SP_BUF_INIT;
    r = sp_ind_state_serialize(s->ind, &blob);
    if (!r) r = sp_state_batch_put_blob(rc->batch, rc->ps->cfg->name, s->key, blob.data, blob.len);
    sp_buf_free(&blob);
    if (r) {
      sp_error_set(err, r, "out of memory saving indicator state");
      break;
    }
    s->dirty = false;
  }
  if (!r && n) {
    sp_state_decision d = {rc->p->state, rc->batch};
    r = sp_put_txn_commit(rc->txn, sp_state_decide, &d, err);
    sp_metrics_record_source_outcome(&rc->ps->counters, r ? 0 : n, r ? n : 0);
    for (size_t i = 0; !r && i < rc->ps->nchannels; i++) record_commit_mark(rc->p, rc->ps->channel_index[i]);
  } else if (!r && rc->batch && sp_state_batch_count(rc->batch)) {
    /* only rejected rows: their watermarks advance (they are in the quarantine) */
    r = sp_state_batch_commit(rc->p->state, rc->batch, 0, err);
  }
  sp_put_txn_close(rc->txn);
  sp_state_batch_free(rc->batch);
  rc->txn = NULL;
  rc->batch = NULL;
  return r;
}

/* Validate, complete and put one row.  A rejected row goes to the quarantine and its
 * watermark still advances (it is stored there, not lost, and is not fetched again),
 * except for rows outside what their request asked for (*advance set false). */
static int accept_row(round_ctx *rc, sp_row *row, const char *key, const char *request, bool *advance,
                      sp_error *err) {
  sp_validate_context vctx = {.now_us = rc->now_us};
  char detail[256];
  const char *rule = sp_validate_reject(row, &vctx, detail, sizeof detail);
  *advance = true;
  if (rule) {
    const sp_rule_info *info = sp_validate_rule(rule, row->ds->id);
    *advance = !(info && (info->traits & SP_RULE_NOT_REQUESTED));
    int r = sp_quarantine_row(rc->p->cfg->pipeline.data_dir, row, rc->now_us, rule, detail, request, NULL, err);
    if (r) return r;
    rc->quarantined_rows++;
    SP_WARN("agent", "source %s: %s row rejected by rule %s (%s), quarantined", rc->ps->cfg->name, row->ds->name,
            rule, detail);
    return SP_OK;
  }
  if (row->ds->id == SP_DS_STOCK_MOVEMENTS) {
    double previous_close = 0;
    bool out_of_order = false;
    int r = complete_bar(rc, row, key, &previous_close, &out_of_order, err);
    if (r) return r;
    if (out_of_order) {
      r = sp_quarantine_row(rc->p->cfg->pipeline.data_dir, row, rc->now_us, "bar_out_of_order",
                            "not later than the series' last stored bar", request, NULL, err);
      if (!r) rc->quarantined_rows++;
      return r;
    }
    vctx.has_previous_close = previous_close == previous_close; /* not NaN */
    vctx.previous_close = previous_close;
  }
  if (sp_validate_flag(row, &vctx)) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  int qcol = sp_dataset_column_index(row->ds, "quality_flags");
  if (qcol >= 0 && !row->values[qcol].is_null) rc->flagged_rows++;
  sp_metrics_record_received(&rc->ps->counters, 1);
  sp_buf_reset(&rc->event);
  if (sp_row_encode(row, &rc->event)) return sp_error_set(err, SP_ERR_NOMEM, "out of memory encoding a row");
  int r = sp_put_txn_put(rc->txn, rc->event.data, rc->event.len, PUT_TIMEOUT_US, err);
  if (!r) rc->put_rows++;
  return r;
}

/* Validate, complete and put one row of the round, staging its watermark (and, in a
 * backfill, its cursor) for the transaction's commit. */
static int process_row(round_ctx *rc, const sp_row *row_in, const char *request, sp_error *err) {
  if (rc->failed) return sp_error_set(err, rc->failure.code, "%s", rc->failure.msg);
  char key[SP_SOURCE_KEY_MAX];
  int64_t mark;
  int r = sp_source_row_watermark(row_in, key, &mark);
  if (r) return sp_error_set(err, r, "row without its key columns");
  if (rc->backfill) { /* only rows the backfill has not stored yet, nor the live collection */
    bool want = false;
    r = sp_backfill_want(rc->backfill, key, mark, &want, err);
    if (r || !want) return r;
  }
  sp_row row;
  r = sp_row_copy(&row, row_in);
  if (r) return sp_error_set(err, r, "out of memory");
  if (!rc->txn) r = begin_txn(rc, err);
  bool advance = true;
  if (!r) r = accept_row(rc, &row, key, request, &advance, err);
  if (!r && advance) r = sp_state_batch_advance_watermark(rc->batch, rc->ps->cfg->name, key, mark);
  if (!r && advance) r = sp_backfill_stage_first(rc->batch, rc->ps->cfg->name, key, mark);
  if (!r && advance && rc->backfill) sp_backfill_row_done(rc->backfill, key, mark);
  char identity[SP_SOURCE_KEY_MAX];
  if (!r && sp_source_row_identity(row_in, identity) == SP_OK) /* news: stored once across providers and rounds */
    r = sp_state_batch_advance_watermark(rc->batch, rc->ps->cfg->name, identity, mark);
  if (!r && (sp_put_txn_count(rc->txn) >= rc->ps->txn_capacity ||
             sp_state_batch_count(rc->batch) >= 2 * rc->ps->txn_capacity))
    r = commit_txn(rc, err);
  sp_row_clear(&row);
  if (r) {
    /* Later rows of the same series must not commit past the lost ones: stop here. */
    rc->failed = true;
    rc->failure = *err;
    sp_put_txn_close(rc->txn);
    sp_state_batch_free(rc->batch);
    rc->txn = NULL;
    rc->batch = NULL;
  }
  return r;
}

/* A backfill's cursor of a series may only move past rows committed in time order, so
 * a chunk's rows are held and put after the round, sorted by series and time. */
static int hold_row(round_ctx *rc, const sp_row *row_in, const char *request, sp_error *err) {
  if (SP_ARRAY_RESERVE(rc->held, rc->held_cap, rc->nheld + 1, 256))
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  held_row *h = &rc->held[rc->nheld];
  if (sp_source_row_watermark(row_in, h->key, &h->time))
    return sp_error_set(err, SP_ERR_INVALID, "row without its key columns");
  h->request = strdup(request ? request : "");
  if (!h->request) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  if (sp_row_copy(&h->row, row_in)) {
    free(h->request);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  rc->nheld++;
  return SP_OK;
}

static int held_row_order(const void *a, const void *b) {
  const held_row *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  if (c) return c;
  return (x->time > y->time) - (x->time < y->time);
}

/* Put the held rows in (series, time) order; the first failure stops the rest (they
 * are fetched again by the next run: the cursors stop before them).  `drop`: free
 * them unput (a round cut short by a daily quota, see quota_cut). */
static int put_held_rows(round_ctx *rc, bool drop, sp_error *err) {
  if (rc->nheld && !drop) qsort(rc->held, rc->nheld, sizeof *rc->held, held_row_order);
  int r = SP_OK;
  for (size_t i = 0; i < rc->nheld; i++) {
    if (!r && !drop) r = process_row(rc, &rc->held[i].row, rc->held[i].request, err);
    sp_row_clear(&rc->held[i].row);
    free(rc->held[i].request);
  }
  free(rc->held);
  rc->held = NULL;
  rc->nheld = rc->held_cap = 0;
  return r;
}

static int round_emit(void *arg, const sp_row *row_in, const char *request, sp_error *err) {
  round_ctx *rc = arg;
  return rc->backfill ? hold_row(rc, row_in, request, err) : process_row(rc, row_in, request, err);
}

/* The seen key of a rejected item: "rejected/" + hex SHA-256 of its provider, ticker
 * (datasets that have one), rule and raw text (its detail when it has none), into
 * key[SP_SOURCE_KEY_MAX]. */
static int rejected_item_key(const sp_row *row, const char *rule, const char *detail, const char *raw, char *key,
                             sp_error *err) {
  int tcol = sp_dataset_column_index(row->ds, "ticker");
  const sp_value *provider = &row->values[sp_dataset_column_index(row->ds, "provider")];
  sp_buf text = SP_BUF_INIT;
  int r = sp_buf_printf(&text, "%s\n%s\n%s\n%s", provider->is_null ? "" : provider->u.str.ptr,
                        tcol < 0 || row->values[tcol].is_null ? "" : row->values[tcol].u.str.ptr, rule,
                        raw ? raw : detail ? detail : "");
  if (r) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  char hex[SP_SHA256_HEX_LEN + 1];
  sp_sha256_hex(text.data, text.len, hex);
  sp_buf_free(&text);
  snprintf(key, SP_SOURCE_KEY_MAX, "rejected/%s", hex);
  return SP_OK;
}

/* An item a provider's parser could not turn into a row: to the quarantine, with its
 * raw text (it has no watermark).  Later polls bring the same item again while their
 * window covers it: it is quarantined once (a seen key in the state store) and its
 * repeats counted as skipped ("already_quarantined"). */
static int round_reject(void *arg, const sp_row *row, const char *rule, const char *detail, const char *raw,
                        const char *request, sp_error *err) {
  round_ctx *rc = arg;
  const char *source = rc->ps->cfg->name;
  char key[SP_SOURCE_KEY_MAX];
  bool seen = false;
  sp_error e;
  int r = rejected_item_key(row, rule, detail, raw, key, err);
  if (r) return r;
  if (sp_state_seen(rc->p->state, source, key, &seen, &e) != SP_OK)
    SP_WARN("agent", "source %s: reading the quarantined items: %s", source, e.msg); /* quarantined again: no loss */
  const sp_value *provider = &row->values[sp_dataset_column_index(row->ds, "provider")];
  if (seen) {
    sp_source_count_skip(provider->is_null ? "?" : provider->u.str.ptr, "already_quarantined", detail);
    return SP_OK;
  }
  r = sp_quarantine_row(rc->p->cfg->pipeline.data_dir, row, rc->now_us, rule, detail, request, raw, err);
  if (r) return r;
  rc->quarantined_rows++;
  SP_WARN("agent", "source %s: %s item rejected by rule %s (%s), quarantined", source, row->ds->name, rule,
          detail ? detail : "");
  sp_state_batch *batch = sp_state_batch_new();
  r = batch ? sp_state_batch_add_seen(batch, source, key) : SP_ERR_NOMEM;
  if (!r) r = sp_state_batch_commit(rc->p->state, batch, 0, &e);
  else sp_error_set(&e, r, "out of memory");
  if (r) SP_WARN("agent", "source %s: recording a quarantined item: %s (it may be quarantined again)", source, e.msg);
  sp_state_batch_free(batch);
  return SP_OK;
}

static pipeline_source *find_source(sp_pipeline *p, const sp_config_source *source, sp_error *err) {
  for (size_t i = 0; i < p->cfg->nsources; i++)
    if (p->sources[i].cfg == source) return &p->sources[i];
  sp_error_set(err, SP_ERR_INVALID, "source %s is not part of this pipeline", source->name);
  return NULL;
}

/* Whether a daily quota cut a backfill round short: a provider left requests unsent
 * (over the backfill's budget, or its own daily-limit answer).  Its rows must not be
 * stored: a news row can come from another ticker's query, and a series' cursor moved
 * past it would skip the older rows of the request not sent; dropped, the chunk is
 * fetched whole by the next run.  Sets err (SP_ERR_QUOTA) naming the provider. */
static bool quota_cut(const sp_source_report *report, sp_error *err) {
  for (int i = 0; i < report->nproviders; i++) {
    const sp_source_provider_report *pr = &report->providers[i];
    if (pr->deferred + pr->deferred_tickers == 0) continue;
    sp_error_set(err, SP_ERR_QUOTA, "provider %s: daily quota: %d request(s) not sent; the chunk's rows are "
                 "left for the next run", pr->provider, pr->deferred + pr->deferred_tickers);
    return true;
  }
  return false;
}

/* One round of `source`: live (window and backfill NULL) or one backfill chunk (of the
 * providers in `providers`, NULL = the source's). */
static int run_round(sp_pipeline *p, const sp_config_source *source, int64_t now_us,
                     const sp_strlist *tickers_override, const sp_strlist *providers,
                     const sp_source_window *window, sp_backfill *backfill,
                     sp_source_report *report, sp_error *err) {
  pipeline_source *ps = find_source(p, source, err);
  if (!ps) return err->code;

  const char *const *tickers = NULL;
  size_t ntickers = 0;
  const char **universe_symbols = NULL;
  const sp_strlist *list = tickers_override;
  if (!list && source->tickers.kind == SP_TICKERS_MAG7) list = &p->cfg->pipeline.mag7_tickers;
  if (!list && source->tickers.kind == SP_TICKERS_LIST) list = &source->tickers.list;
  if (list) {
    tickers = (const char *const *)list->items;
    ntickers = list->count;
  } else if (source->tickers.kind == SP_TICKERS_SP500) {
    universe_symbols = malloc((p->universe.count ? p->universe.count : 1) * sizeof *universe_symbols);
    if (!universe_symbols) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < p->universe.count; i++) universe_symbols[i] = p->universe.entries[i].symbol;
    tickers = universe_symbols;
    ntickers = p->universe.count;
  }
  const char *const *series = NULL;
  size_t nseries = 0;
  if (source->dataset == SP_DS_MACROECONOMIC) {
    series = (const char *const *)source->indicators.items;
    nseries = source->indicators.count;
  } else if (source->dataset == SP_DS_POLICY) {
    series = (const char *const *)source->event_types.items;
    nseries = source->event_types.count;
  }

  round_ctx rc = {.p = p, .ps = ps, .event = SP_BUF_INIT, .now_us = now_us, .backfill = backfill};
  sp_source_round round = {.ds = sp_dataset_get(source->dataset),
                           .providers = (const char *const *)(providers ? providers : &source->providers)->items,
                           .nproviders = (providers ? providers : &source->providers)->count,
                           .tickers = tickers,
                           .ntickers = ntickers,
                           .companies = p->companies,
                           .ncompanies = p->companies ? p->universe.count : 0,
                           .series = series,
                           .nseries = nseries,
                           .bar_interval = sp_bar_interval_name(source->bar_interval),
                           .initial_history_days = (int)source->initial_history_days,
                           .now_us = now_us,
                           .credential = round_credential,
                           .get_watermark = round_watermark,
                           .emit = round_emit,
                           .reject = round_reject,
                           .sentiment = round_sentiment,
                           .arg = &rc,
                           .cache = p->cache,
                           .config_dir = p->cfg->file ? p->cfg->base_dir : NULL,
                           .stop = p->stop,
                           .window = window,
                           .quota_state = p->state,
                           .daily_limit = round_daily_limit,
                           .rounds_left_today = round_rounds_left,
                           .source_name = source->name,
                           .quota_reserve_percent = p->quota_reserve_percent};
  int r = sp_source_collect(&p->transport, &round, report, err);
  bool cut = backfill && quota_cut(report, err);
  if (cut) r = SP_ERR_QUOTA;
  sp_error held_err;
  int hr = put_held_rows(&rc, cut, &held_err); /* backfill: the rows of the requests that succeeded */
  if (hr && !r) {
    r = hr;
    *err = held_err;
  }
  sp_error commit_err;
  int cr = rc.failed ? SP_OK : commit_txn(&rc, &commit_err);
  if (cr && !r) {
    r = cr;
    *err = commit_err;
  }
  if (rc.failed && !r) {
    r = rc.failure.code;
    *err = rc.failure;
  }
  for (size_t i = 0; i < rc.nseries; i++)
    if (!rc.series[i].borrowed) sp_ind_state_free(rc.series[i].ind);
  free(rc.series);
  sp_buf_free(&rc.event);
  free(universe_symbols);
  SP_INFO("agent", "source %s: %ld rows into %zu channel(s), %ld flagged, %ld quarantined%s", source->name,
          rc.put_rows, ps->nchannels, rc.flagged_rows, rc.quarantined_rows, r ? " (with failures)" : "");
  return r;
}

void sp_pipeline_spread_quotas(sp_pipeline *p, bool on) { p->spread_quotas = on; }

void sp_pipeline_quota_reserve(sp_pipeline *p, int percent) {
  p->quota_reserve_percent = percent < 0 ? 0 : percent > 100 ? 100 : percent;
}

int sp_pipeline_quota_of(sp_pipeline *p, const char *provider, int64_t now_us, int64_t *limit, int64_t *used,
                         sp_error *err) {
  const sp_config_provider *cp = sp_config_find_provider(p->cfg, provider);
  *limit = cp ? cp->daily_limit : 0;
  *used = 0;
  return *limit > 0 ? sp_quota_used(p->state, provider, now_us, used, err) : SP_OK;
}

int sp_pipeline_collect_source(sp_pipeline *p, const sp_config_source *source, int64_t now_us,
                               const sp_strlist *tickers_override, sp_source_report *report, sp_error *err) {
  return run_round(p, source, now_us, tickers_override, NULL, NULL, NULL, report, err);
}

int sp_pipeline_backfill_open(sp_pipeline *p, const sp_config_source *source, const char *run_id, int64_t start_us,
                              int64_t end_us, sp_backfill **out, sp_error *err) {
  pipeline_source *ps = find_source(p, source, err);
  if (!ps) return err->code;
  return sp_backfill_open(p->state, source->name, run_id, start_us, end_us, ps->indicator_mask, out, err);
}

int sp_pipeline_backfill_chunk(sp_pipeline *p, const sp_config_source *source, int64_t now_us,
                               const sp_source_window *window, sp_backfill *backfill, const sp_strlist *tickers,
                               const sp_strlist *providers, sp_source_report *report, sp_error *err) {
  return run_round(p, source, now_us, tickers, providers, window, backfill, report, err);
}

/* ---- delivering ------------------------------------------------------------------ */

int sp_pipeline_drain(sp_pipeline *p, int64_t deadline_us, sp_error *err) {
  int first = SP_OK;
  for (size_t i = 0; i < p->cfg->nsinks; i++) {
    if (!p->runners[i]) continue;
    uint64_t delivered = 0;
    sp_error e;
    int r = sp_sink_runner_drain(p->runners[i], deadline_us, &delivered, &e);
    if (r) {
      SP_ERROR("agent", "sink %s: %s", p->cfg->sinks[i].name, e.msg);
      if (!first) {
        first = r;
        sp_error_set(err, r, "sink %s: %s", p->cfg->sinks[i].name, e.msg);
      }
    } else if (delivered) {
      SP_INFO("agent", "sink %s: delivered %llu event(s)", p->cfg->sinks[i].name, (unsigned long long)delivered);
    }
  }
  return first;
}

int sp_pipeline_start(sp_pipeline *p, sp_error *err) {
  for (size_t i = 0; i < p->cfg->nsinks; i++) {
    int r = sp_sink_runner_start(p->runners[i], err);
    if (r) return r;
  }
  p->started = true;
  return SP_OK;
}

void sp_pipeline_interrupt(sp_pipeline *p) {
  for (size_t i = 0; i < p->cfg->nchannels; i++) sp_channel_close(p->channels[i]);
}

void sp_pipeline_stop(sp_pipeline *p, int64_t drain_timeout_us) {
  if (!p->started) return;
  /* Closed channels refuse puts but still hand out what they hold, and wake a runner
   * waiting to fill a batch, which would otherwise wait out its batch time-out. */
  sp_pipeline_interrupt(p);
  for (size_t i = 0; i < p->cfg->nsinks; i++) sp_sink_runner_stop(p->runners[i], drain_timeout_us);
  p->started = false;
}

uint64_t sp_pipeline_buffered(const sp_pipeline *p) {
  uint64_t total = 0;
  for (size_t i = 0; i < p->cfg->nchannels; i++) {
    if (!p->channels[i]) continue;
    sp_channel_counters c;
    sp_channel_counters_snapshot(p->channels[i], &c);
    total += c.ChannelSize;
  }
  return total;
}

/* ---- what the daemon and /health read ------------------------------------------- */

int sp_pipeline_last_run(sp_pipeline *p, const sp_config_source *source, int64_t *run_us, bool *found,
                         sp_error *err) {
  *found = false;
  int rc = sp_state_get_watermark(p->state, source->name, LAST_RUN_KEY, run_us, found, err);
  if (rc) sp_error_prefix(err, "source %s: reading its last run", source->name);
  return rc;
}

int sp_pipeline_record_run(sp_pipeline *p, const sp_config_source *source, int64_t run_us, sp_error *err) {
  sp_state_batch *b = sp_state_batch_new();
  if (!b) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  int rc = sp_state_batch_advance_watermark(b, source->name, LAST_RUN_KEY, run_us);
  if (rc) sp_error_set(err, rc, "out of memory");
  else rc = sp_state_batch_commit(p->state, b, 0, err);
  sp_state_batch_free(b);
  if (rc) sp_error_prefix(err, "source %s: recording its run", source->name);
  return rc;
}

size_t sp_pipeline_sink_count(const sp_pipeline *p) { return p->cfg->nsinks; }

size_t sp_pipeline_writer_channel_count(const sp_pipeline *p) {
  size_t count = 0;
  for (size_t i = 0; i < p->cfg->nchannels; i++) {
    bool fed = false;
    for (size_t s = 0; !fed && s < p->cfg->nsources; s++)
      for (size_t k = 0; !fed && k < p->sources[s].nchannels; k++) fed = p->sources[s].channel_index[k] == i;
    count += !fed;
  }
  return count;
}

sp_latency *sp_pipeline_batch_latency(sp_pipeline *p) { return p->batch_latency; }

void sp_pipeline_sink_health_get(sp_pipeline *p, size_t i, sp_pipeline_sink_health *out) {
  memset(out, 0, sizeof *out);
  const sp_config_sink *sc = &p->cfg->sinks[i];
  out->sink = sc;
  out->started = p->started;
  out->batch_timeout_us = sink_batch_timeout_us(sc);
  if (out->batch_timeout_us == 0) out->batch_timeout_us = SP_US_PER_SEC; /* the runner's default */
  sp_sink_runner_status_get(p->runners[i], &out->runner);
  size_t ci = p->cfg->nchannels;
  for (size_t k = 0; sc->channel && k < p->cfg->nchannels; k++)
    if (strcmp(p->cfg->channels[k].name, sc->channel) == 0) ci = k;
  if (ci == p->cfg->nchannels) return; /* cannot happen: open refuses an unbound sink */
  out->channel = &p->cfg->channels[ci];
  sp_channel_counters_snapshot(p->channels[ci], &out->counters);
  if (out->counters.ChannelSize == 0) return;
  /* FIFO: the events still owned are the last ChannelSize committed ones. */
  uint64_t oldest = out->counters.EventPutSuccessCount - out->counters.ChannelSize + 1;
  pthread_mutex_lock(&p->marks_mutex);
  const channel_marks *m = &p->marks[ci];
  for (size_t k = 0; k < m->count; k++)
    if (m->marks[k].put_count >= oldest) {
      out->oldest_event_us = m->marks[k].at_us;
      break;
    }
  pthread_mutex_unlock(&p->marks_mutex);
}

void sp_pipeline_close(sp_pipeline *p) {
  if (!p) return;
  sp_pipeline_stop(p, 0);
  for (size_t i = 0; p->runners && i < p->cfg->nsinks; i++) sp_sink_runner_free(p->runners[i]);
  sp_latency_free(p->batch_latency);
  for (size_t i = 0; p->sinks && i < p->cfg->nsinks; i++) sp_sink_close(p->sinks[i]);
  for (size_t i = 0; p->channels && i < p->cfg->nchannels; i++) sp_channel_free(p->channels[i]);
  for (size_t i = 0; p->sources && i < p->cfg->nsources; i++) {
    if (p->sources[i].cfg) sp_metrics_unregister(&p->sources[i].counters);
    free(p->sources[i].channels);
    free(p->sources[i].channel_index);
  }
  free(p->sources);
  free(p->runners);
  free(p->sinks);
  free(p->channels);
  free(p->marks);
  pthread_mutex_destroy(&p->marks_mutex);
  free(p->companies);
  sp_universe_free(&p->universe);
  sp_source_cache_free(p->cache);
  sp_http_client_free(p->http);
  sp_state_close(p->state);
  if (p->lock_fd >= 0) close(p->lock_fd); /* releases the flock */
  free(p);
}
