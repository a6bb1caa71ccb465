/*
 * cmd_backfill.c — `stockpipe backfill DATASET --from DATE [--to DATE] [--tickers LIST]`
 * (SPEC §4): history for a date range through the same pipeline as live collection
 * (the dataset's source, its channels and sinks, validation, indicators), cut into
 * chunks its providers serve and resumable after an interruption (core/backfill.h).
 * On a terminal a one-line progress bar is redrawn on stderr; otherwise only the
 * summary line and log lines are printed.  Exit 0, 1 when a chunk failed, the run
 * was interrupted or a provider's daily quota stopped it (what was stored stays;
 * re-run the same command to continue: after 00:00 UTC for a quota), 2 for usage or
 * config errors (among them a provider that cannot serve history).
 *
 * Daily quotas (core/quota.h, "Backfill"): the backfill counts its requests in the
 * same per-provider daily counter as the live rounds and spends only what is left
 * today beyond a reserve for them (--quota-reserve, default 20 % of the daily limit).
 * Ticker rounds are cut to what is left (one request per ticker); when nothing is
 * left, or a round was cut short anyway (its rows are then dropped, core/agent.c), it
 * stops with a message naming the provider, its limit and the requests used.  A
 * provider whose day cannot hold one round (plan_quotas) is left out, named.
 */
#include "cli/cli.h"
#include "cli/collect_round.h"
#include "cli/options.h"
#include "core/agent.h"
#include "core/backfill.h"
#include "core/log.h"
#include "core/quota.h"
#include "core/timeutil.h"
#include "core/universe.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DRAIN_TIMEOUT_US (120 * SP_US_PER_SEC) /* the sinks' last batches after the last chunk */
#define BAR_WIDTH 24
/* Tickers per round: a backfill round holds its rows until it ends (core/agent.c), so
 * 50 tickers x 90 days of 1h bars is ~30k rows in memory, not the whole universe's. */
#define ROUND_TICKERS 50

static const sp_cli_option backfill_options[] = {
    {"from", true, "DATE", "first day of the range (YYYY-MM-DD, UTC)"},
    {"to", true, "DATE", "last day of the range, inclusive (default: up to now)"},
    {"tickers", true, "LIST", "comma-separated symbols replacing the source's ticker list"},
    {"chunk-days", true, "N", "days per request (default: 90 within the provider's limit, 365 without one)"},
    {"quota-reserve", true, "PCT", "share of each provider's daily_limit left to the live rounds (default 20)"},
    {NULL, false, NULL, NULL}};

static const char usage[] =
    "Usage: stockpipe backfill DATASET --from DATE [--to DATE] [--tickers LIST] [OPTIONS]\n\n"
    "Fetch DATASET's history for the days --from ... --to (inclusive, UTC; default up to now) through the\n"
    "same source, channels and sinks as live collection (validation, quarantine and indicators apply),\n"
    "in chunks each provider serves (Yahoo: 1h bars for the last 730 days, 1d bars without limit; FRED and\n"
    "the World Bank: macroeconomic observations without limit; Finnhub: news of the last year, NewsAPI: of\n"
    "the last month).  Providers that cannot serve history are named and left out.\n"
    "Resumable: an interrupted backfill re-run with the same arguments continues where it stopped;\n"
    "re-running a finished one stores nothing.  It never stores a row the live collection stored: a\n"
    "series already collected is filled only before its first stored row (docs/OPERATIONS.md).\n"
    "Datasets whose providers cannot serve history (financial_data quotes are snapshots, policy events) are\n"
    "refused, naming the provider and why.\n"
    "Providers with a daily quota (providers.<name>.daily_limit) are asked only for what is left of it today\n"
    "beyond --quota-reserve percent kept for the live rounds; when it is spent the backfill stops, naming the\n"
    "provider, its limit and the requests used: re-run the same command after 00:00 UTC to resume.  A provider\n"
    "whose day cannot hold one round (news: a request per ticker) is named and left out.\n"
    "A progress bar is drawn on a terminal.  Exit 0; 1 when a chunk failed, the run was interrupted or a\n"
    "daily quota stopped it (the other chunks are stored; re-run to continue); 2 for usage or config errors.\n"
    "\nOptions:\n"
    "  --from DATE            first day of the range (YYYY-MM-DD), required\n"
    "  --to DATE              last day of the range, inclusive (default: up to now)\n"
    "  --tickers LIST         comma-separated symbols replacing the source's ticker list\n"
    "  --chunk-days N         days per request (default: 90 within the provider's limit, 365 without one)\n"
    "  --quota-reserve PCT    percent of each provider's daily_limit left to the live rounds (0-100, default 20)\n"
    SP_CLI_COMMON_OPTIONS_HELP;

/* The one-line progress bar (terminal only). */
typedef struct progress {
  bool tty;
  const char *dataset;
  int64_t started_us;  /* monotonic */
  size_t total, done;  /* chunks of every source */
  size_t done_here;    /* chunks this run fetched (not skipped as already stored): for the ETA */
  int64_t rows;
} progress;

static void format_duration(double seconds, char *out, size_t cap) {
  long s = (long)(seconds + 0.5);
  if (s >= 3600) snprintf(out, cap, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else snprintf(out, cap, "%ld:%02ld", s / 60, s % 60);
}

static void progress_draw(const progress *pr) {
  if (!pr->tty) return;
  double elapsed = (double)(sp_monotonic_us() - pr->started_us) / 1e6;
  double rate = elapsed > 0 ? (double)pr->rows / elapsed : 0;
  char eta[32] = "--:--";
  if (pr->done >= pr->total) snprintf(eta, sizeof eta, "0:00");
  else if (pr->done_here > 0)
    format_duration(elapsed / (double)pr->done_here * (double)(pr->total - pr->done), eta, sizeof eta);
  char bar[BAR_WIDTH + 1];
  size_t filled = pr->total ? pr->done * BAR_WIDTH / pr->total : BAR_WIDTH;
  for (size_t i = 0; i < BAR_WIDTH; i++) bar[i] = i < filled ? '#' : '-';
  bar[BAR_WIDTH] = '\0';
  fprintf(stderr, "\r%s [%s] %zu/%zu chunks  %lld rows  %.0f rows/s  ETA %s\x1b[K", pr->dataset, bar, pr->done,
          pr->total, (long long)pr->rows, rate, eta);
  fflush(stderr);
}

/* An error line that does not land in the middle of the bar. */
static void progress_break(const progress *pr) {
  if (pr->tty) fputc('\n', stderr);
}

/* What one source's backfill covers. */
typedef struct source_plan {
  const sp_config_source *source;
  int64_t start_us, end_us, chunk_us;
  size_t nchunks;
  char *serving[SP_SOURCE_MAX_PROVIDERS];       /* its providers taking part (config strings) */
  sp_strlist providers;                         /* a view of serving: the rounds' providers */
  const char *limited[SP_SOURCE_MAX_PROVIDERS]; /* those of them with a daily quota */
  size_t nlimited;
} source_plan;

/* The daily quotas of a backfill: the reserve asked for, and what stopped it. */
typedef struct quota_watch {
  int reserve_percent;  /* --quota-reserve */
  bool stopped;         /* a provider's quota is spent for today */
  const char *provider; /* that provider (a config string) */
  int64_t limit, used;  /* its daily_limit and the requests counted today */
  bool whole_day;       /* a round was cut short although the day's whole allowance was left */
} quota_watch;

/* What the quota-limited providers of `plan` still let this backfill send today: the
 * smallest allowance (core/quota.h, sp_quota_backfill_budget), INT64_MAX when none is
 * limited; *whole_day (may be NULL) gets the smallest a day allows them at all.
 * When the allowance is 0, q names the provider, its limit and use. */
static int64_t quota_allowance(sp_pipeline *p, const source_plan *plan, quota_watch *q, int64_t *whole_day) {
  int64_t smallest = INT64_MAX;
  if (whole_day) *whole_day = INT64_MAX;
  for (size_t i = 0; i < plan->nlimited; i++) {
    int64_t limit, used;
    sp_error err;
    if (sp_pipeline_quota_of(p, plan->limited[i], sp_round_now_us(), &limit, &used, &err) != SP_OK) {
      sp_cli_error("backfill: daily quota of %s: %s", plan->limited[i], err.msg);
      continue; /* the round's own count refuses what it cannot count */
    }
    int64_t allowance = sp_quota_backfill_budget(limit, used, q->reserve_percent);
    int64_t a_day = sp_quota_backfill_budget(limit, 0, q->reserve_percent);
    if (allowance < smallest) smallest = allowance;
    if (whole_day && a_day < *whole_day) *whole_day = a_day;
    if (allowance == 0 && !q->provider) {
      q->provider = plan->limited[i];
      q->limit = limit;
      q->used = used;
    }
  }
  return smallest;
}

/* Note which providers of `plan` have a daily quota, and leave out those whose rounds
 * can never fit in a day: for a dataset whose every round asks for all `ntickers`
 * (news: its series are met as rows arrive, so its rounds are not cut into ticker
 * batches), a provider sending one request per ticker needs ntickers a round, and a
 * round cut short stores nothing, so one needing more than a day allows would be cut
 * every day.  Each is named with the reason.  Returns SP_EXIT_OK, or SP_EXIT_USAGE
 * when no provider is left. */
static int plan_quotas(sp_pipeline *p, source_plan *plan, const sp_dataset_def *ds, size_t ntickers,
                       int reserve_percent) {
  size_t kept = 0;
  plan->nlimited = 0;
  for (size_t i = 0; i < plan->providers.count; i++) {
    const char *name = plan->serving[i];
    const sp_source_provider *sp = sp_source_find(name);
    int64_t limit, used;
    sp_error err;
    if (sp_pipeline_quota_of(p, name, sp_round_now_us(), &limit, &used, &err) != SP_OK) /* limit is set */
      sp_cli_error("backfill: daily quota of %s: %s", name, err.msg);
    int64_t a_day = limit > 0 ? sp_quota_backfill_budget(limit, 0, reserve_percent) : INT64_MAX;
    bool every_ticker = ds->id != SP_DS_STOCK_MOVEMENTS && sp && (sp->per_ticker & SP_SOURCE_DATASET_BIT(ds->id));
    if (every_ticker && a_day < (int64_t)ntickers) {
      sp_cli_error("backfill %s: provider %s (source %s) is left out: it sends a request per ticker, %zu a round, "
                   "more than the %lld a day its daily_limit %lld leaves to a backfill (--quota-reserve %d%%)",
                   ds->name, name, plan->source->name, ntickers, (long long)a_day, (long long)limit, reserve_percent);
      continue;
    }
    plan->serving[kept++] = plan->serving[i];
    if (limit > 0) plan->limited[plan->nlimited++] = name;
  }
  plan->providers.count = kept;
  if (kept == 0) {
    sp_cli_error("backfill %s: no provider of source %s can backfill it within its daily quota", ds->name,
                 plan->source->name);
    return SP_EXIT_USAGE;
  }
  return SP_EXIT_OK;
}

/* Merge the history limits of the source's providers that serve it, listed in
 * plan->providers; those that cannot are named with the reason and left out of the
 * backfill.  A source none of whose providers can is refused: exit 2. */
static int check_providers(const sp_config_source *src, const sp_dataset_def *ds, sp_source_history *limits,
                           source_plan *plan) {
  memset(limits, 0, sizeof *limits);
  plan->providers = (sp_strlist){plan->serving, 0};
  const char *interval = ds->id == SP_DS_STOCK_MOVEMENTS ? sp_bar_interval_name(src->bar_interval) : NULL;
  size_t serving = 0;
  for (size_t i = 0; i < src->providers.count; i++) {
    const char *name = src->providers.items[i];
    const sp_source_provider *p = sp_source_find(name);
    char why[256] = "not a known provider";
    sp_source_history h;
    if (p && sp_source_serves_history(p, ds, interval, &h, why, sizeof why)) {
      sp_backfill_limits_merge(limits, &h, serving == 0);
      serving++;
      if (plan->providers.count < SP_SOURCE_MAX_PROVIDERS) plan->serving[plan->providers.count++] = src->providers.items[i];
    } else {
      sp_cli_error("backfill %s: provider %s (source %s) cannot serve history: %s", ds->name, name, src->name, why);
    }
  }
  if (serving == 0) {
    sp_cli_error("backfill %s: no provider of source %s can serve history", ds->name, src->name);
    return SP_EXIT_USAGE;
  }
  if (serving < src->providers.count)
    sp_cli_error("backfill %s: backfilling with the other provider(s) of source %s", ds->name, src->name);
  return SP_EXIT_OK;
}

/* The series keys (watermark keys) of a ticker dataset, for planning and progress. */
static int series_keys(const sp_config_source *src, const sp_dataset_def *ds, const sp_strlist *tickers,
                       sp_strlist *keys) {
  keys->items = calloc(tickers->count ? tickers->count : 1, sizeof *keys->items);
  keys->count = 0;
  if (!keys->items) return -1;
  if (ds->id != SP_DS_STOCK_MOVEMENTS) return 0; /* series are met as rows arrive */
  for (size_t i = 0; i < tickers->count; i++) {
    char key[SP_SOURCE_KEY_MAX];
    snprintf(key, sizeof key, "%s/%s/%s", ds->name, tickers->items[i], sp_bar_interval_name(src->bar_interval));
    keys->items[i] = strdup(key);
    if (!keys->items[i]) return -1;
    keys->count++;
  }
  return 0;
}

/* One chunk round for `tickers` (keys: their series, parallel; both empty = the
 * source's own list and every series met).  Returns the round's code; on success the
 * series' cursors are at the window's end, on failure they are skipped this run; on
 * SP_ERR_QUOTA (a daily quota cut the round short, nothing stored) neither. */
static int run_chunk(sp_pipeline *p, const source_plan *plan, sp_backfill *b, const sp_source_window *w,
                     const sp_strlist *tickers, const sp_strlist *keys, sp_error *err) {
  sp_source_report report;
  const char *const *key_list = keys->count ? (const char *const *)keys->items : NULL;
  int rc = sp_pipeline_backfill_chunk(p, plan->source, sp_round_now_us(), w, b, keys->count ? tickers : NULL,
                                      &plan->providers, &report, err);
  if (rc == SP_ERR_QUOTA) return rc;
  if (rc == SP_OK) rc = sp_backfill_chunk_done(b, w, key_list, keys->count, err);
  if (rc != SP_OK) sp_backfill_chunk_failed(b, w, key_list, keys->count);
  return rc;
}

/* Report a failed chunk of `what` (a ticker, or the dataset). */
static void chunk_failed_message(const progress *pr, const char *dataset, const char *what,
                                 const sp_source_window *w, const sp_error *err) {
  char from[SP_TIMESTAMP_TEXT_MAX], to[SP_TIMESTAMP_TEXT_MAX];
  sp_format_timestamp(w->start_us, from);
  sp_format_timestamp(w->end_us, to);
  progress_break(pr);
  sp_cli_error("backfill %s: %s: chunk %s .. %s failed (retried by the next run): %s", dataset, what, from, to,
               err->msg);
}

/* One chunk for a batch of tickers (keys: their series; both empty = the source's own
 * list).  When the round fails with several tickers, each is retried alone to find the
 * failing ones (rows the group round stored are behind their cursors: none is stored
 * twice).  Counts failed (ticker) chunks into *failed; returns true when any failed.
 * A round a daily quota cut short sets *quota_cut and ends the batch (not a failure). */
static bool run_batch(sp_pipeline *p, const source_plan *plan, sp_backfill *b, const sp_source_window *w,
                      const sp_strlist *tickers, const sp_strlist *keys, const progress *pr,
                      const volatile bool *stop, size_t *failed, bool *quota_cut) {
  const sp_config_source *src = plan->source;
  const char *dataset = sp_dataset_get(src->dataset)->name;
  sp_error err;
  int rc = run_chunk(p, plan, b, w, tickers, keys, &err);
  *quota_cut = rc == SP_ERR_QUOTA;
  if (rc == SP_OK || *quota_cut || *stop) return false;
  if (tickers->count <= 1) {
    chunk_failed_message(pr, dataset, tickers->count ? tickers->items[0] : src->name, w, &err);
    (*failed)++;
    return true;
  }
  for (size_t k = 0; k < tickers->count && !*stop; k++) {
    sp_strlist one_ticker = {&tickers->items[k], 1}, one_key = {&keys->items[k], 1};
    sp_backfill_retry(b, keys->items[k]); /* the group's failure marked it */
    rc = run_chunk(p, plan, b, w, &one_ticker, &one_key, &err);
    if (rc == SP_ERR_QUOTA) {
      *quota_cut = true;
      break;
    }
    if (rc != SP_OK && !*stop) {
      chunk_failed_message(pr, dataset, tickers->items[k], w, &err);
      (*failed)++;
    }
  }
  return true;
}

/* Run every chunk of one source, counting failed (ticker) chunks into *failed, until
 * done or a daily quota is spent (q->stopped).  Returns SP_EXIT_OK, or
 * SP_EXIT_FAILURE when it could not run at all. */
static int backfill_source(sp_pipeline *p, const source_plan *plan, const char *run_id, const sp_strlist *tickers,
                           progress *pr, const volatile bool *stop, size_t *failed, quota_watch *q) {
  const sp_config_source *src = plan->source;
  const sp_dataset_def *ds = sp_dataset_get(src->dataset);
  sp_strlist keys = {NULL, 0};
  size_t n = tickers->count ? tickers->count : 1;
  sp_strlist round_tickers = {calloc(n, sizeof(char *)), 0}, round_keys = {calloc(n, sizeof(char *)), 0};
  sp_backfill *b = NULL;
  sp_error err;
  int exit_code = SP_EXIT_OK;
  if (series_keys(src, ds, tickers, &keys) != 0 || !round_tickers.items || !round_keys.items) {
    sp_cli_error("backfill: out of memory");
    exit_code = SP_EXIT_FAILURE;
  } else if (sp_pipeline_backfill_open(p, src, run_id, plan->start_us, plan->end_us, &b, &err) != SP_OK) {
    sp_cli_error("backfill %s: %s", ds->name, err.msg);
    exit_code = SP_EXIT_FAILURE;
  }
  for (size_t k = 0; exit_code == SP_EXIT_OK && k < keys.count; k++) {
    sp_backfill_progress where;
    if (sp_backfill_progress_of(b, keys.items[k], &where, &err) != SP_OK) {
      sp_cli_error("backfill %s: %s", ds->name, err.msg);
      exit_code = SP_EXIT_FAILURE;
    }
  }
  int64_t rows_before = pr->rows;
  bool give_up = false; /* the rest of this source waits for the next run */
  for (size_t i = 0; exit_code == SP_EXIT_OK && i < plan->nchunks && !*stop; i++) {
    sp_source_window w = sp_backfill_chunk(plan->start_us, plan->end_us, plan->chunk_us, i);
    round_tickers.count = round_keys.count = 0;
    for (size_t k = 0; k < keys.count; k++)
      if (sp_backfill_needs(b, keys.items[k], &w)) {
        round_tickers.items[round_tickers.count++] = tickers->items[k];
        round_keys.items[round_keys.count++] = keys.items[k];
      }
    bool skip = keys.count > 0 && round_tickers.count == 0; /* stored by an earlier run, or nothing to fill */
    size_t count = round_tickers.count;
    for (size_t off = 0; !skip && !give_up && !q->stopped && off < (count ? count : 1) && !*stop;) {
      int64_t whole_day;
      int64_t allowance = quota_allowance(p, plan, q, &whole_day);
      if (allowance == 0) {
        q->stopped = true;
        break;
      }
      size_t size = count - off < ROUND_TICKERS ? count - off : ROUND_TICKERS;
      if ((int64_t)size > allowance) size = (size_t)allowance; /* a request per ticker at least */
      sp_strlist batch_tickers = {round_tickers.items + off, size}, batch_keys = {round_keys.items + off, size};
      bool cut = false;
      /* series met as rows arrive: a later chunk could pass one that failed here */
      if (run_batch(p, plan, b, &w, &batch_tickers, &batch_keys, pr, stop, failed, &cut) && keys.count == 0)
        give_up = true;
      if (cut) { /* the round asked for more than was left: nothing of it stored */
        q->whole_day = allowance == whole_day;
        quota_allowance(p, plan, q, NULL); /* names the provider spent */
        q->stopped = true;
      }
      off += size ? size : 1;
      pr->rows = rows_before + sp_backfill_rows(b);
      progress_draw(pr);
    }
    if (q->stopped) break; /* this chunk is not done: the next run starts with it */
    if (!skip) pr->done_here++;
    pr->rows = rows_before + sp_backfill_rows(b);
    pr->done++;
    progress_draw(pr);
    if (give_up) break;
  }
  sp_backfill_free(b);
  sp_cli_free_list(&keys);
  free(round_tickers.items);
  free(round_keys.items);
  return exit_code;
}

/* The tickers of a source: --tickers, else its list (mag7, sp500 file, explicit). */
static int source_tickers(const sp_config *cfg, const sp_config_source *src, const sp_strlist *option,
                          sp_universe *universe, sp_strlist *out) {
  *out = (sp_strlist){NULL, 0};
  if (option) *out = *option;
  else if (src->tickers.kind == SP_TICKERS_MAG7) *out = cfg->pipeline.mag7_tickers;
  else if (src->tickers.kind == SP_TICKERS_LIST) *out = src->tickers.list;
  else if (src->tickers.kind == SP_TICKERS_SP500) {
    sp_error err;
    if (!universe->entries && sp_universe_load(cfg->pipeline.sp500_path, universe, &err) != SP_OK) {
      sp_cli_error("pipeline.sp500_file: %s", err.msg);
      return SP_EXIT_USAGE;
    }
    out->items = calloc(universe->count ? universe->count : 1, sizeof *out->items);
    if (!out->items) return SP_EXIT_FAILURE;
    for (size_t i = 0; i < universe->count; i++) out->items[i] = universe->entries[i].symbol;
    out->count = universe->count;
  }
  return SP_EXIT_OK;
}

/* Parse --from/--to (inclusive days) into [from_us, to_us) and the run id naming them. */
static int parse_range(const sp_cli_context *ctx, int64_t *from_us, int64_t *to_us, char *run_id, size_t cap) {
  const char *from = sp_cli_get(ctx, "from"), *to = sp_cli_get(ctx, "to");
  int32_t from_day, to_day;
  if (!from) {
    sp_cli_error("backfill: --from DATE is required");
    return SP_EXIT_USAGE;
  }
  if (sp_parse_date(from, &from_day) != 0 || (to && sp_parse_date(to, &to_day) != 0)) {
    sp_cli_error("backfill: --from/--to take dates as YYYY-MM-DD, not '%s'",
                 sp_parse_date(from, &from_day) != 0 ? from : to);
    return SP_EXIT_USAGE;
  }
  if (to && to_day < from_day) {
    sp_cli_error("backfill: --to %s is before --from %s", to, from);
    return SP_EXIT_USAGE;
  }
  *from_us = (int64_t)from_day * SP_US_PER_DAY;
  *to_us = to ? ((int64_t)to_day + 1) * SP_US_PER_DAY : INT64_MAX;
  char from_text[16], to_text[16] = "";
  sp_format_date(from_day, from_text);
  if (to) sp_format_date(to_day, to_text);
  snprintf(run_id, cap, "%s..%s", from_text, to_text);
  return SP_EXIT_OK;
}

static int parse_quota_reserve(const sp_cli_context *ctx, int *percent) {
  const char *text = sp_cli_get(ctx, "quota-reserve");
  *percent = SP_QUOTA_BACKFILL_RESERVE_PERCENT;
  if (!text) return SP_EXIT_OK;
  char *end;
  long value = strtol(text, &end, 10);
  if (*text == '\0' || (*end != '\0' && strcmp(end, "%") != 0) || value < 0 || value > 100) {
    sp_cli_error("backfill: --quota-reserve takes a percentage from 0 to 100, not '%s'", text);
    return SP_EXIT_USAGE;
  }
  *percent = (int)value;
  return SP_EXIT_OK;
}

/* Say why a daily quota stopped the backfill, and when it resumes. */
static void quota_stop_message(const progress *pr, const sp_dataset_def *ds, const quota_watch *q) {
  progress_break(pr);
  char day[SP_DATE_TEXT_MAX];
  sp_format_date(sp_timestamp_to_days(sp_round_now_us()), day);
  if (!q->provider) {
    sp_cli_error("backfill %s: stopped by a daily quota (see the messages above); re-run the same command after "
                 "00:00 UTC to resume where it stopped", ds->name);
    return;
  }
  sp_cli_error("backfill %s: stopped by the daily quota of %s: %lld of its %lld requests (daily_limit) used on %s, "
               "%lld kept for the live rounds (--quota-reserve %d%%); re-run the same command after 00:00 UTC to "
               "resume where it stopped",
               ds->name, q->provider, (long long)q->used, (long long)q->limit, day,
               (long long)(q->limit * q->reserve_percent / 100), q->reserve_percent);
  if (q->whole_day)
    sp_cli_error("backfill %s: a round of this backfill needs more requests of %s than one day allows it (retries "
                 "count too): if this repeats, raise providers.%s.daily_limit or lower --quota-reserve",
                 ds->name, q->provider, q->provider);
}

static int parse_chunk_days(const sp_cli_context *ctx, int64_t *chunk_us) {
  const char *text = sp_cli_get(ctx, "chunk-days");
  *chunk_us = 0;
  if (!text) return SP_EXIT_OK;
  char *end;
  long days = strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || days < 1 || days > 36500) {
    sp_cli_error("backfill: --chunk-days takes a whole number of days from 1 to 36500, not '%s'", text);
    return SP_EXIT_USAGE;
  }
  *chunk_us = (int64_t)days * SP_US_PER_DAY;
  return SP_EXIT_OK;
}

/* Plan every enabled source of `ds`: refuse what cannot be backfilled (exit 2). */
static int plan_sources(const sp_cli_context *ctx, const sp_dataset_def *ds, int64_t from_us, int64_t to_us,
                        int64_t chunk_us, int64_t now_us, source_plan *plans, size_t *nplans) {
  const sp_config *cfg = ctx->config;
  *nplans = 0;
  for (size_t i = 0; i < cfg->nsources; i++) {
    const sp_config_source *src = &cfg->sources[i];
    if (src->dataset != ds->id || !src->enabled) continue;
    sp_source_history limits;
    source_plan *plan = &plans[*nplans];
    int rc = check_providers(src, ds, &limits, plan);
    if (rc != SP_EXIT_OK) return rc;
    (*nplans)++;
    plan->source = src;
    bool clamped;
    sp_error err;
    if (sp_backfill_range(&limits, from_us, to_us, now_us, &plan->start_us, &plan->end_us, &clamped, &err) != SP_OK) {
      sp_cli_error("backfill %s (source %s): %s", ds->name, src->name, err.msg);
      return SP_EXIT_USAGE;
    }
    if (clamped) {
      char start[SP_TIMESTAMP_TEXT_MAX];
      sp_format_timestamp(plan->start_us, start);
      sp_cli_error("backfill %s (source %s): the providers serve this history only for the last %lld days; "
                   "starting at %s",
                   ds->name, src->name, (long long)(limits.max_age_us / SP_US_PER_DAY), start);
    }
    plan->chunk_us = sp_backfill_chunk_length(&limits, chunk_us);
    plan->nchunks = sp_backfill_chunk_count(plan->start_us, plan->end_us, plan->chunk_us);
  }
  if (*nplans == 0) {
    sp_cli_error("backfill: no enabled source collects %s in %s", ds->name,
                 ctx->config_path ? ctx->config_path : "the built-in configuration");
    return SP_EXIT_USAGE;
  }
  return SP_EXIT_OK;
}

static int backfill_with(sp_cli_context *ctx) {
  const sp_config *cfg = ctx->config;
  if (ctx->nargs != 1) {
    sp_cli_error("backfill: name one dataset (stock_movements, news, macroeconomic, policy, financial_data)");
    return SP_EXIT_USAGE;
  }
  const sp_dataset_def *ds = sp_dataset_by_name(ctx->args[0]);
  if (!ds) {
    sp_cli_error("backfill: unknown dataset '%s' (financial_data, stock_movements, news, macroeconomic, policy)",
                 ctx->args[0]);
    return SP_EXIT_USAGE;
  }
  int64_t from_us, to_us, chunk_us;
  char run_id[64];
  int rc = parse_range(ctx, &from_us, &to_us, run_id, sizeof run_id);
  if (rc == SP_EXIT_OK) rc = parse_chunk_days(ctx, &chunk_us);
  quota_watch quota = {0};
  if (rc == SP_EXIT_OK) rc = parse_quota_reserve(ctx, &quota.reserve_percent);
  sp_strlist option_tickers = {NULL, 0};
  const char *tickers_text = sp_cli_get(ctx, "tickers");
  if (rc == SP_EXIT_OK && tickers_text && sp_cli_split_list(tickers_text, &option_tickers) != 0) rc = SP_EXIT_FAILURE;
  if (rc == SP_EXIT_OK && tickers_text && option_tickers.count == 0) {
    sp_cli_error("backfill: --tickers needs at least one symbol");
    rc = SP_EXIT_USAGE;
  }
  source_plan *plans = calloc(cfg->nsources ? cfg->nsources : 1, sizeof *plans);
  size_t nplans = 0;
  if (!plans) rc = SP_EXIT_FAILURE;
  if (rc == SP_EXIT_OK) rc = plan_sources(ctx, ds, from_us, to_us, chunk_us, sp_round_now_us(), plans, &nplans);

  progress pr = {.tty = isatty(STDERR_FILENO) == 1, .dataset = ds->name, .started_us = sp_monotonic_us()};
  /* On a terminal the bar is the report; INFO lines per chunk would tear it. */
  if (pr.tty && !ctx->log_level_option && sp_log_get_level() < SP_LOG_WARN) sp_log_set_level(SP_LOG_WARN);
  for (size_t i = 0; i < nplans; i++) pr.total += plans[i].nchunks;

  sp_pipeline *p = NULL;
  sp_universe universe = {0};
  const volatile bool *stop = sp_cli_install_stop_handlers();
  sp_error err;
  size_t failed = 0;
  if (rc == SP_EXIT_OK) {
    int orc = sp_pipeline_open(cfg, &ctx->credentials, stop, &p, &err);
    if (!orc) sp_pipeline_quota_reserve(p, quota.reserve_percent);
    if (!orc) orc = sp_pipeline_start(p, &err);
    if (orc) {
      sp_cli_error("%s", err.msg);
      rc = orc == SP_ERR_CONFIG ? SP_EXIT_USAGE : SP_EXIT_FAILURE;
    }
  }
  progress_draw(&pr);
  for (size_t i = 0; rc == SP_EXIT_OK && i < nplans && !*stop && !quota.stopped; i++) {
    sp_strlist tickers;
    rc = source_tickers(cfg, plans[i].source, tickers_text ? &option_tickers : NULL, &universe, &tickers);
    if (rc == SP_EXIT_OK) rc = plan_quotas(p, &plans[i], ds, tickers.count, quota.reserve_percent);
    if (rc == SP_EXIT_OK) rc = backfill_source(p, &plans[i], run_id, &tickers, &pr, stop, &failed, &quota);
    if (plans[i].source->tickers.kind == SP_TICKERS_SP500 && !tickers_text) free(tickers.items);
  }
  if (p) {
    sp_pipeline_stop(p, DRAIN_TIMEOUT_US); /* the sinks take what the last chunks put */
    uint64_t left = sp_pipeline_buffered(p);
    if (left && rc == SP_EXIT_OK) {
      progress_break(&pr);
      sp_cli_error("backfill %s: %llu row(s) still in the channels (a sink keeps failing); they are delivered by the "
                   "next run", ds->name, (unsigned long long)left);
      rc = SP_EXIT_FAILURE;
    }
    sp_pipeline_close(p);
  }
  if (pr.tty && p) fputc('\n', stderr);
  if (nplans && (p || rc != SP_EXIT_USAGE)) {
    double secs = (double)(sp_monotonic_us() - pr.started_us) / 1e6;
    fprintf(stderr, "backfill %s %s: %zu/%zu chunks, %lld rows stored, %zu failed chunk(s), %.1f s%s\n", ds->name,
            run_id, pr.done, pr.total, (long long)pr.rows, failed, secs,
            *stop             ? " (interrupted: re-run the same command to continue)"
            : quota.stopped ? " (stopped by a daily quota)"
                            : "");
  }
  if (quota.stopped && !*stop) quota_stop_message(&pr, ds, &quota);
  if (rc == SP_EXIT_OK && (failed || *stop || quota.stopped)) rc = SP_EXIT_FAILURE;
  free(plans);
  sp_universe_free(&universe);
  sp_cli_free_list(&option_tickers);
  return rc;
}

static int backfill_run(int argc, char **argv) {
  sp_cli_context ctx;
  int rc = sp_cli_load(argc, argv, backfill_options, SP_CLI_CREDENTIALS | SP_CLI_LOG_FILE, &ctx);
  if (rc == SP_EXIT_OK) rc = backfill_with(&ctx);
  sp_cli_context_free(&ctx);
  return rc;
}

const sp_cli_command sp_cmd_backfill = {"backfill", "history for a date range, resumable, with a progress bar",
                                        usage, backfill_run};
