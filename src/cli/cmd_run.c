/*
 * cmd_run.c — `stockpipe run [--once]` (SPEC §4, §6; issues 4 and 7).
 *
 * `--once`: one round of every enabled source, every channel drained, exit 0/1
 * (collect_round.c does it, shared with `collect`).
 *
 * The daemon (foreground, systemd style): opens the pipeline of the config, starts
 * one sink-runner thread per sink, serves /health, /metrics and /metrics.json
 * (core/health_server.h; with the latency histograms of the source rounds, which
 * it times, and of the pipeline's sink batches) on `pipeline.http.listen`, then
 * loops on the controlling thread: sleep (sp_scheduler_wait) until the next source is due by its schedule —
 * the quote and bar sources (financial_data, stock_movements) follow the NYSE
 * session (core/scheduler.h), the others not — run that source's round into its
 * channels, record the round's start as its last run in the state store (so a
 * restart after downtime runs a missed source once, not once per missed slot).
 *
 * Signals (handlers only set a flag and write the scheduler's eventfd, so the sleep
 * ends at once; a round in progress sees the stop flag through the pipeline):
 *   SIGTERM, SIGINT  stop scheduling, let the runners drain for at most
 *                    --drain-timeout seconds, exit 0;
 *   SIGHUP           reopen the log file, then reload the config: a config that does
 *                    not load is logged (file:line:column) and the running one is
 *                    kept; a good one replaces the pipeline between rounds (the old
 *                    one drained and closed, the new one opened; if it cannot open,
 *                    the old config is reopened).
 *
 * Threads: the controlling thread (scheduling, rounds, reloads), the sink runners,
 * libmicrohttpd's thread answering requests, and a stop watcher that, on SIGTERM or
 * SIGINT, interrupts the published pipeline (sp_pipeline_interrupt) so that a round
 * blocked on a full channel gives up at once instead of after its put time-out.
 * `lock` guards what those threads read: the published pipeline and config, the
 * schedule entries' last runs and which source is running.  The controlling thread
 * holds it only to publish changes, never during a round or a drain.
 *
 * Memory (issue 7: a small idle footprint): one malloc arena for all the
 * threads, and malloc_trim once a round's events have left the channels (or the
 * next source is due).
 */
#include "cli/cli.h"
#include "cli/collect_round.h"
#include "cli/options.h"
#include "core/agent.h"
#include "core/health.h"
#include "core/health_server.h"
#include "core/latency.h"
#include "core/log.h"
#include "core/scheduler.h"
#include "core/timeutil.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DRAIN_TIMEOUT_S 10
#define DEFAULT_STUCK_AFTER_S 300
#define DEFAULT_MIN_FREE_DISK_MB 500
#define DEFAULT_MAX_JITTER_S 30
#define NOT_RUNNING ((size_t)-1)
#define TRIM_POLL_US (100 * 1000) /* after a round, how often to look whether the sinks drained */

static const sp_cli_option run_options[] = {
    {"once", false, NULL, "one round of every enabled source, drain, exit"},
    {"drain-timeout", true, "SECONDS", "on SIGTERM/SIGINT/reload, how long sinks may drain (default 10)"},
    {"listen", true, "HOST:PORT", "health endpoint address, overriding pipeline.http.listen (port 0: any free)"},
    {"stuck-after", true, "SECONDS", "/health: a sink is stuck after this long without a commit (default 300)"},
    {"min-free-disk-mb", true, "MB", "/health: least free space for data_dir's disk (default 500, 0 = off)"},
    {"max-jitter", true, "SECONDS", "each source runs up to this long after its slot (default 30)"},
    {NULL, false, NULL, NULL}};

static const char usage[] =
    "Usage: stockpipe run [--once] [OPTIONS]\n\n"
    "Without --once: the collection daemon, in the foreground. Every enabled source runs on its\n"
    "schedule (quotes and hourly bars only while the NYSE is in session, plus once after each\n"
    "close); rows flow through the channels to the sinks; /health, /metrics and /metrics.json are\n"
    "served on pipeline.http.listen (\"\" = off). SIGTERM or SIGINT drains the channels and exits 0;\n"
    "SIGHUP reopens the log file and reloads the configuration (a broken one is reported and the\n"
    "running one kept).\n\n"
    "With --once: one round of every enabled source, every channel drained, then exit: 0 when\n"
    "every enabled source succeeded, 1 when any failed (the others' rows are stored).\n\n"
    "Exit codes: 0 success, 1 runtime failure, 2 usage or config error.\n\nOptions:\n"
    "  --once                 one round of every enabled source, drain, exit\n"
    "  --drain-timeout SECONDS  on SIGTERM/SIGINT/reload, how long sinks may drain (default 10)\n"
    "  --listen HOST:PORT     health endpoint address, overriding pipeline.http.listen (port 0: any\n"
    "                         free port, logged at start)\n"
    "  --stuck-after SECONDS  /health: a sink is stuck after this long without a commit (default 300)\n"
    "  --min-free-disk-mb MB  /health: least free space on data_dir's disk (default 500, 0 = off)\n"
    "  --max-jitter SECONDS   each source runs up to this long after its slot (default 30)\n"
    "  --config FILE          configuration file (else $STOCKPIPE_CONFIG, ./config/stockpipe.yaml, built-in)\n"
    "  --data-dir DIR         data directory (overrides $STOCKPIPE_DATA_DIR and pipeline.data_dir)\n"
    "  --log-level LEVEL      DEBUG, INFO, WARN, ERROR or OFF\n"
    "  --credentials FILE     API keys file (overrides $STOCKPIPE_CREDENTIALS and pipeline.credentials)\n";

typedef struct daemon_state {
  sp_cli_context ctx;           /* the running config and credentials (owned) */
  sp_pipeline *pipeline;        /* built from ctx.config */
  sp_schedule_entry *entries;   /* one per enabled source */
  const sp_config_source **entry_source; /* the source of each entry */
  size_t nentries;
  size_t running;               /* the entry whose round runs, or NOT_RUNNING */
  /* What the endpoint reads (guarded by lock): */
  pthread_mutex_t lock;
  sp_pipeline *published;       /* NULL while (re)opening */
  const sp_config *published_config;
  sp_health_server *server;
  char *server_listen;          /* the address it serves (owned) */
  sp_latency *round_latency;    /* seconds per source round, across reloads */
  /* Settings from the command line: */
  const char *listen_option;
  int64_t drain_timeout_us, max_jitter_us;
  sp_health_settings health;
} daemon_state;

/* ---- signals -------------------------------------------------------------------- */

static volatile bool stop_requested;
static volatile bool reload_requested;
static sp_wakeup daemon_wakeup = {-1, -1}; /* wakes the controlling thread */
static sp_wakeup stop_wakeup = {-1, -1};   /* wakes the stop watcher */

static void on_signal(int sig) {
  if (sig == SIGHUP) {
    reload_requested = true;
  } else {
    stop_requested = true;
    sp_wakeup_signal(&stop_wakeup);
  }
  sp_wakeup_signal(&daemon_wakeup);
}

static void install_signal_handlers(void) {
  sp_cli_handle_signal(SIGINT, on_signal);
  sp_cli_handle_signal(SIGTERM, on_signal);
  sp_cli_handle_signal(SIGHUP, on_signal);
  signal(SIGPIPE, SIG_IGN);
}

/* The stop watcher: sleeps until SIGTERM/SIGINT (or the daemon's end), then closes
 * the published pipeline's channels. */
static void *stop_watcher(void *arg) {
  daemon_state *d = arg;
  sp_error err;
  while (!stop_requested) {
    int rc = sp_wakeup_sleep_until(&stop_wakeup, INT64_MAX, &err);
    if (rc < 0) {
      SP_ERROR("daemon", "stop watcher: %s", err.msg);
      return NULL;
    }
    if (rc == 1) break; /* a stop, or the daemon ending without one */
  }
  if (!stop_requested) return NULL;
  pthread_mutex_lock(&d->lock);
  if (d->published) sp_pipeline_interrupt(d->published);
  pthread_mutex_unlock(&d->lock);
  return NULL;
}

/* ---- the endpoint's callbacks (libmicrohttpd's thread) --------------------------- */

static int health_document(void *arg, sp_buf *out, bool *healthy) {
  daemon_state *d = arg;
  pthread_mutex_lock(&d->lock);
  sp_health_source *sources = calloc(d->nentries ? d->nentries : 1, sizeof *sources);
  int rc = SP_ERR_NOMEM;
  if (sources) {
    for (size_t i = 0; i < d->nentries; i++) {
      sources[i].entry = d->entries[i];
      sources[i].enabled = true;
      sources[i].running = d->running == i;
    }
    rc = sp_health_check(d->published, d->published_config, sources, d->nentries, &d->health, sp_now_us(), out,
                         healthy);
  }
  pthread_mutex_unlock(&d->lock);
  free(sources);
  return rc;
}

/* The latency histograms: the daemon's source rounds, then the published
 * pipeline's sink batches (none while it is being reopened). */
static int latency_prometheus(void *arg, sp_buf *out) {
  daemon_state *d = arg;
  int rc = sp_latency_render_prometheus(d->round_latency, out);
  pthread_mutex_lock(&d->lock);
  if (!rc && d->published) rc = sp_latency_render_prometheus(sp_pipeline_batch_latency(d->published), out);
  pthread_mutex_unlock(&d->lock);
  return rc;
}

static int latency_json(void *arg, sp_buf *out) {
  daemon_state *d = arg;
  int rc = sp_buf_append_str(out, ",\"latency\":{");
  if (!rc) rc = sp_latency_render_json(d->round_latency, out);
  pthread_mutex_lock(&d->lock);
  if (!rc && d->published) rc = sp_buf_append_str(out, ",");
  if (!rc && d->published) rc = sp_latency_render_json(sp_pipeline_batch_latency(d->published), out);
  pthread_mutex_unlock(&d->lock);
  if (!rc) rc = sp_buf_append_str(out, "}");
  return rc;
}

/* Serve on the configured address (or --listen); restart when it changed.  Failing
 * to bind is fatal at start (the operator asked for it) and logged on reload. */
static int update_server(daemon_state *d, sp_error *err) {
  const char *listen = d->listen_option ? d->listen_option : d->ctx.config->pipeline.http_listen;
  if (d->server_listen && strcmp(d->server_listen, listen) == 0) return SP_OK;
  sp_health_server_stop(d->server);
  d->server = NULL;
  free(d->server_listen);
  d->server_listen = NULL;
  if (!*listen) {
    SP_INFO("daemon", "health endpoint off (pipeline.http.listen is \"\")");
    return SP_OK;
  }
  sp_health_server_handlers h = {health_document, latency_prometheus, latency_json, d};
  int rc = sp_health_server_start(listen, &h, &d->server, err);
  if (rc) return rc;
  d->server_listen = strdup(listen);
  if (!d->server_listen) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  SP_INFO("daemon", "health endpoint on http://%.*s:%d/health", (int)(strrchr(listen, ':') - listen), listen,
          sp_health_server_port(d->server));
  return SP_OK;
}

/* ---- opening and closing the pipeline -------------------------------------------- */

/* Open the pipeline of d->ctx, start its runners, read every source's last run, and
 * publish it.  On failure nothing stays open. */
static int open_pipeline(daemon_state *d, sp_error *err) {
  const sp_config *cfg = d->ctx.config;
  sp_pipeline *p;
  int rc = sp_pipeline_open(cfg, &d->ctx.credentials, &stop_requested, &p, err);
  if (rc) return rc;
  sp_pipeline_spread_quotas(p, true); /* scheduled rounds share each day's quota */
  sp_schedule_entry *entries = calloc(cfg->nsources ? cfg->nsources : 1, sizeof *entries);
  const sp_config_source **entry_source = calloc(cfg->nsources ? cfg->nsources : 1, sizeof *entry_source);
  if (!entries || !entry_source) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  size_t n = 0;
  for (size_t i = 0; !rc && i < cfg->nsources; i++) {
    const sp_config_source *s = &cfg->sources[i];
    if (!s->enabled) continue;
    bool found;
    int64_t last;
    rc = sp_pipeline_last_run(p, s, &last, &found, err);
    entry_source[n] = s;
    entries[n++] = (sp_schedule_entry){.name = s->name,
                                       .schedule = s->schedule,
                                       .intraday = sp_scheduler_dataset_intraday(s->dataset),
                                       .max_jitter_us = d->max_jitter_us,
                                       .last_run_us = found ? last : SP_SCHEDULER_NEVER};
  }
  if (!rc) rc = sp_pipeline_start(p, err);
  if (rc) {
    sp_pipeline_close(p);
    free(entries);
    free(entry_source);
    return rc;
  }
  d->pipeline = p;
  pthread_mutex_lock(&d->lock);
  free(d->entries);
  free(d->entry_source);
  d->entries = entries;
  d->entry_source = entry_source;
  d->nentries = n;
  d->published = p;
  d->published_config = cfg;
  pthread_mutex_unlock(&d->lock);
  return SP_OK;
}

/* Unpublish, drain (bounded), close.  Says what could not be delivered. */
static void close_pipeline(daemon_state *d) {
  if (!d->pipeline) return;
  pthread_mutex_lock(&d->lock);
  d->published = NULL;
  pthread_mutex_unlock(&d->lock);
  int64_t started = sp_monotonic_us();
  sp_pipeline_stop(d->pipeline, d->drain_timeout_us);
  uint64_t left = sp_pipeline_buffered(d->pipeline);
  if (left)
    SP_WARN("daemon", "%llu event(s) still buffered after draining for %.1f s (file channels keep "
            "them, Kafka channels read them again at the next start; memory channels lose them)", (unsigned long long)left, (double)(sp_monotonic_us() - started) / 1e6);
  else
    SP_INFO("daemon", "channels drained in %.3f s", (double)(sp_monotonic_us() - started) / 1e6);
  sp_pipeline_close(d->pipeline);
  d->pipeline = NULL;
}

/* ---- one round ------------------------------------------------------------------ */

static void run_source(daemon_state *d, size_t i) {
  const sp_config_source *src = d->entry_source[i];
  pthread_mutex_lock(&d->lock);
  d->running = i;
  pthread_mutex_unlock(&d->lock);
  int64_t now = sp_now_us(), started = sp_monotonic_us();
  sp_source_report report;
  memset(&report, 0, sizeof report);
  sp_error err = {0};
  int rc = sp_pipeline_collect_source(d->pipeline, src, now, NULL, &report, &err);
  int64_t took = sp_monotonic_us() - started;
  if (sp_latency_observe(d->round_latency, src->name, took)) SP_WARN("daemon", "out of memory recording latency");
  if (rc == SP_ERR_STOPPED) {
    /* Not recorded: the round did not finish, so it runs again at the next start. */
    SP_INFO("daemon", "source %s: round interrupted by shutdown", src->name);
  } else {
    if (rc) SP_WARN("daemon", "source %s: round finished with failures in %.2f s: %s", src->name,
                    (double)took / 1e6, err.msg);
    else SP_INFO("daemon", "source %s: round done in %.2f s, %ld row(s) fetched", src->name, (double)took / 1e6,
                 report.rows);
    sp_error rec;
    if (sp_pipeline_record_run(d->pipeline, src, now, &rec)) SP_ERROR("daemon", "%s", rec.msg);
  }
  pthread_mutex_lock(&d->lock);
  if (rc != SP_ERR_STOPPED) d->entries[i].last_run_us = now;
  d->running = NOT_RUNNING;
  pthread_mutex_unlock(&d->lock);
}

/* ---- SIGHUP --------------------------------------------------------------------- */

/* Load the config the daemon was started with (same options) into a new context.
 * The file is first loaded on its own so that its problems reach the log, not only
 * stderr.  Returns SP_EXIT_OK or the loader's exit code (nctx then freed). */
static int load_new_config(const daemon_state *d, sp_cli_context *nctx) {
  const char *path = sp_config_locate(d->ctx.config_option);
  sp_config *probe;
  sp_config_diag diag;
  if (sp_config_load(path, &probe, &diag) != SP_OK) {
    for (int i = 0; i < diag.count; i++) SP_ERROR("daemon", "%s", diag.messages[i]);
    if (diag.dropped) SP_ERROR("daemon", "(%d more errors)", diag.dropped);
    return SP_EXIT_USAGE;
  }
  sp_config_free(probe);
  memset(nctx, 0, sizeof *nctx);
  nctx->config_option = d->ctx.config_option;
  nctx->data_dir_option = d->ctx.data_dir_option;
  nctx->log_level_option = d->ctx.log_level_option;
  nctx->credentials_option = d->ctx.credentials_option;
  int rc = sp_cli_load_config(nctx, SP_CLI_CREDENTIALS | SP_CLI_LOG_FILE);
  if (rc != SP_EXIT_OK) sp_cli_context_free(nctx);
  return rc;
}

/* Returns 0, or an error when neither the new nor the old pipeline could be opened. */
static int reload(daemon_state *d, sp_error *err) {
  if (sp_log_reopen() != 0) SP_ERROR("daemon", "SIGHUP: cannot reopen the log file");
  SP_INFO("daemon", "SIGHUP: log reopened; reloading the configuration %s",
          d->ctx.config_path ? d->ctx.config_path : "(built-in defaults)");
  sp_cli_context nctx;
  if (load_new_config(d, &nctx) != SP_EXIT_OK) {
    SP_ERROR("daemon", "configuration not reloaded (errors above); the running one is kept");
    return SP_OK;
  }
  close_pipeline(d);
  sp_cli_context old = d->ctx;
  d->ctx = nctx;
  int rc = open_pipeline(d, err);
  if (rc) {
    SP_ERROR("daemon", "the new configuration does not start: %s; going back to the previous one", err->msg);
    sp_cli_context_free(&d->ctx);
    d->ctx = old;
    rc = open_pipeline(d, err);
    if (rc) return rc;
  } else {
    pthread_mutex_lock(&d->lock); /* the endpoint no longer sees the old config */
    sp_cli_context_free(&old);
    pthread_mutex_unlock(&d->lock);
    SP_INFO("daemon", "configuration reloaded: %zu source(s), %zu channel(s), %zu sink(s)", d->ctx.config->nsources,
            d->ctx.config->nchannels, d->ctx.config->nsinks);
  }
  sp_error serr;
  if (update_server(d, &serr)) SP_ERROR("daemon", "%s", serr.msg);
  return SP_OK;
}

/* ---- the daemon ----------------------------------------------------------------- */

/* Whether a source is due within `within_us`. */
static bool source_due_within(const daemon_state *d, int64_t within_us) {
  int64_t now = sp_now_us();
  for (size_t i = 0; i < d->nentries; i++) {
    int64_t due = sp_scheduler_due_us(&d->entries[i], now);
    if (due >= 0 && due <= now + within_us) return true;
  }
  return false;
}

static int daemon_loop(daemon_state *d) {
  sp_error err = {0};
  bool trim_pending = false; /* a round ran since memory was last given back */
  for (;;) {
    if (stop_requested) return SP_EXIT_OK;
    if (reload_requested) {
      reload_requested = false;
      if (reload(d, &err)) {
        SP_ERROR("daemon", "cannot reopen the pipeline: %s", err.msg);
        return SP_EXIT_FAILURE;
      }
      continue;
    }
    int rc;
    if (trim_pending && sp_pipeline_buffered(d->pipeline) > 0 && !source_due_within(d, TRIM_POLL_US)) {
      /* The sinks are still writing the round's events: look again shortly. */
      rc = sp_wakeup_sleep_until(&daemon_wakeup, sp_now_us() + TRIM_POLL_US, &err);
      if (rc < 0) {
        SP_ERROR("daemon", "%s", err.msg);
        return SP_EXIT_FAILURE;
      }
      continue;
    }
    if (trim_pending) {
      /* Idle until the next round: give the pages the round and its batches freed back. */
      malloc_trim(0);
      trim_pending = false;
    }
    size_t which;
    rc = sp_scheduler_wait(&daemon_wakeup, d->entries, d->nentries, &which, &err);
    if (rc == 1) continue; /* woken by a signal: look at the flags */
    if (rc) {
      SP_ERROR("daemon", "%s", err.msg);
      return SP_EXIT_FAILURE;
    }
    run_source(d, which);
    trim_pending = true;
  }
}

/* The value of number option `name` (dflt when absent); *bad set for a malformed one. */
static double number_option(const sp_cli_context *ctx, const char *name, double dflt, bool *bad) {
  const char *text = sp_cli_get(ctx, name);
  if (!text) return dflt;
  char *end;
  double v = strtod(text, &end);
  if (*end || end == text || !(v >= 0 && v <= 1e9)) {
    sp_cli_error("run: --%s needs a non-negative number, not '%s'", name, text);
    *bad = true;
    return dflt;
  }
  return v;
}

static int run_daemon(daemon_state *d) {
  sp_error err = {0};
  /* Before any thread starts: one malloc arena for every thread.  glibc would give each of
   * the daemon's threads (runners, endpoint, watcher) an arena of its own whose freed
   * pages stay resident while the daemon idles (issue 7: about 1 MiB). */
  mallopt(M_ARENA_MAX, 1);
  pthread_t watcher;
  if (sp_wakeup_open(&daemon_wakeup, &err) || sp_wakeup_open(&stop_wakeup, &err) ||
      pthread_create(&watcher, NULL, stop_watcher, d) != 0) {
    sp_cli_error("%s", err.code ? err.msg : "cannot start the stop watcher thread");
    sp_wakeup_close(&daemon_wakeup);
    sp_wakeup_close(&stop_wakeup);
    return SP_EXIT_FAILURE;
  }
  install_signal_handlers();
  int exit_code = SP_EXIT_OK;
  int rc = open_pipeline(d, &err);
  if (rc) {
    sp_cli_error("%s", err.msg);
    exit_code = rc == SP_ERR_CONFIG ? SP_EXIT_USAGE : SP_EXIT_FAILURE;
  } else if (update_server(d, &err)) {
    sp_cli_error("%s", err.msg);
    exit_code = SP_EXIT_FAILURE;
  } else {
    size_t enabled = 0;
    for (size_t i = 0; i < d->ctx.config->nsources; i++) enabled += d->ctx.config->sources[i].enabled;
    SP_INFO("daemon", "started: %zu enabled source(s), %zu channel(s), %zu sink(s), data in %s", enabled,
            d->ctx.config->nchannels, d->ctx.config->nsinks, d->ctx.config->pipeline.data_dir);
    exit_code = daemon_loop(d);
    if (stop_requested) SP_INFO("daemon", "stopping: draining the channels (at most %.0f s)",
                                (double)d->drain_timeout_us / 1e6);
  }
  sp_wakeup_signal(&stop_wakeup); /* lets the watcher end when no stop came */
  pthread_join(watcher, NULL);
  close_pipeline(d);
  sp_health_server_stop(d->server);
  d->server = NULL;
  sp_wakeup_close(&daemon_wakeup);
  sp_wakeup_close(&stop_wakeup);
  if (exit_code == SP_EXIT_OK) SP_INFO("daemon", "stopped");
  return exit_code;
}

static int run_run(int argc, char **argv) {
  daemon_state d;
  memset(&d, 0, sizeof d);
  int rc = sp_cli_load(argc, argv, run_options, SP_CLI_CREDENTIALS | SP_CLI_LOG_FILE, &d.ctx);
  if (rc == SP_EXIT_OK && d.ctx.nargs > 0) {
    sp_cli_error("run: unexpected argument '%s' (see `stockpipe run --help`)", d.ctx.args[0]);
    rc = SP_EXIT_USAGE;
  }
  bool bad = false;
  d.drain_timeout_us = (int64_t)(number_option(&d.ctx, "drain-timeout", DEFAULT_DRAIN_TIMEOUT_S, &bad) * 1e6);
  d.max_jitter_us = (int64_t)(number_option(&d.ctx, "max-jitter", DEFAULT_MAX_JITTER_S, &bad) * 1e6);
  d.health.stuck_after_us = (int64_t)(number_option(&d.ctx, "stuck-after", DEFAULT_STUCK_AFTER_S, &bad) * 1e6);
  d.health.min_free_disk_mb = (int64_t)number_option(&d.ctx, "min-free-disk-mb", DEFAULT_MIN_FREE_DISK_MB, &bad);
  d.listen_option = sp_cli_get(&d.ctx, "listen");
  if (rc == SP_EXIT_OK && bad) rc = SP_EXIT_USAGE;
  if (rc == SP_EXIT_OK && sp_cli_has(&d.ctx, "once")) {
    unsigned all = 0;
    for (int ds = 0; ds < SP_DS_COUNT; ds++) all |= 1u << ds;
    rc = sp_cli_collect_round(&d.ctx, all, NULL);
  } else if (rc == SP_EXIT_OK) {
    d.running = NOT_RUNNING;
    pthread_mutex_init(&d.lock, NULL);
    if (sp_latency_new("stockpipe_source_round_seconds", "Duration of one source round (fetch and put).", "source",
                       &d.round_latency)) {
      sp_cli_error("out of memory");
      rc = SP_EXIT_FAILURE;
    } else {
      rc = run_daemon(&d);
    }
    sp_latency_free(d.round_latency);
    free(d.entries);
    free(d.entry_source);
    free(d.server_listen);
    pthread_mutex_destroy(&d.lock);
  }
  sp_cli_context_free(&d.ctx);
  return rc;
}

const sp_cli_command sp_cmd_run = {"run", "the collection daemon (or one round of everything with --once)", usage,
                                   run_run};
