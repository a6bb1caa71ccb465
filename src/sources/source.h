/*
 * source.h — the data-source interface: one small vtable per provider (Fluent Bit
 * input-plugin style), and one call that runs a round of a dataset over the providers
 * a source is configured with.
 *
 * A provider is one file in src/sources/ defining a `const sp_source_provider`:
 * its name, the datasets it serves, the credential it needs (if any), its default
 * HTTP settings (base URL, rate limit, concurrency) and a `collect` entry.  `collect`
 * only *submits* requests (through sp_source_submit); each response is handed to
 * the provider's callback, which parses it with the provider's pure parse functions
 * (`sp_<provider>_parse_*`, no network, unit-tested and fuzzed) and emits rows with
 * sp_source_emit.  Adding a provider = one new file + one line in source.c's table.
 *
 * The round (sp_source_collect):
 *   - each provider named in the round that serves the dataset is started; a provider
 *     whose credential is missing is skipped with one warning (status DISABLED, not a
 *     failure, SPEC §7);
 *   - all requests of all providers are performed together by the transport (the HTTP
 *     client's rate limits, retries and concurrency caps apply per provider);
 *   - a failed request is logged once (provider, endpoint with the key redacted, HTTP
 *     status, body excerpt) and counted against its provider; the other requests and
 *     providers carry on, and rows already emitted stay emitted;
 *   - a provider with a daily request quota (core/quota.h; live rounds with a
 *     quota_state only) sends at most this round's share of what is left today: a
 *     request over it is not sent (its callbacks are never called) and is reported as
 *     deferred, with one warning per provider per round; for its per_ticker datasets it
 *     is handed the tickers after the last one it served, at most the round's budget
 *     of them, the rest reported as deferred tickers.  A provider's "daily limit
 *     reached" answer (SP_ERR_QUOTA, or sp_source_quota_used_up) ends its requests for
 *     the UTC day.  Deferral is not a failure: the provider stays OK (partial);
 *   - rows are emitted only when newer than the watermark the caller supplies for
 *     their series (sp_source_row_watermark gives the key and value; the caller stores
 *     watermarks after rows are stored, using the same function).
 *
 * Watermark keys (value in microseconds since the epoch; dates at 00:00 UTC):
 *   financial_data   "financial_data/<ticker>"                 quote_time
 *   stock_movements  "stock_movements/<ticker>/<interval>"     bar_time
 *   news             "news/<provider>/<ticker>"                published_at
 *   macroeconomic    "macroeconomic/<provider>/<series_id>"    observation_date
 *   policy           "policy/<provider>/<event_type>"          event_time
 * A row is emitted only when its value is strictly greater than the stored watermark
 * (SPEC §1: a quote whose quote_time equals the last stored one emits nothing).
 * News rows also carry an identity key (sp_source_row_identity) so an article already
 * stored from another provider is not stored again in a later round.
 *
 * Threading: a round runs on the caller's thread; callbacks are called from it.
 */
#ifndef STOCKPIPE_SOURCES_SOURCE_H
#define STOCKPIPE_SOURCES_SOURCE_H

#include "core/http.h"
#include "core/row.h"
#include "stockpipe/error.h"
#include "stockpipe/schema.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SP_SOURCE_MAX_PROVIDERS 16
#define SP_SOURCE_KEY_MAX 160 /* watermark key buffer size */

/* Bit of a dataset in sp_source_provider.datasets. */
#define SP_SOURCE_DATASET_BIT(id) (1u << (unsigned)(id))

typedef struct sp_source_ctx sp_source_ctx;

/* An explicit time window [start_us, end_us) (UTC µs) a backfill round asks for,
 * instead of "since the watermark". */
typedef struct sp_source_window {
  int64_t start_us;
  int64_t end_us;
} sp_source_window;

/* How a provider serves history of one dataset (see sp_source_provider.history). */
typedef struct sp_source_history {
  int64_t max_span_us; /* the longest window one request may cover; 0 = unlimited */
  int64_t max_age_us;  /* how far back from now it serves; 0 = unlimited */
} sp_source_history;

/* One provider (a static const table in its own file). */
typedef struct sp_source_provider {
  const char *name;                 /* "yahoo", "alphavantage", ... (SPEC names) */
  unsigned datasets;                /* SP_SOURCE_DATASET_BIT(SP_DS_...) | ... */
  const char *credential;           /* credentials.json name ("fred_api_key") or NULL */
  sp_http_provider_settings http;   /* defaults; config `providers.<name>` overrides them */
  int64_t daily_limit;              /* requests per UTC day of the free tier, 0 = none (config
                                       `providers.<name>.daily_limit` overrides it; core/quota.h) */
  unsigned per_ticker;              /* datasets whose `collect` sends one request (or one
                                       query's pages) per ticker of round->tickers, in order:
                                       a daily quota rotates and trims that list */
  /* Submit this provider's requests for ctx's dataset.  Returns 0, or an error when
   * nothing could be submitted at all (the provider then counts as failed). */
  int (*collect)(sp_source_ctx *ctx, sp_error *err);
  /* Optional: a short explanation of an error response body (Yahoo's chart.error,
   * FRED's error_message, ...) written into out[outlen]; false when none found.  Used
   * to make failure messages say what the provider said. */
  bool (*explain_error)(const char *body, size_t len, char *out, size_t outlen);
  /* Optional (backfill): whether this provider's `collect` honours round->window for
   * `ds` (bar datasets at `interval`, else NULL), filling *out with its limits and
   * returning true; or false with the reason in why[whylen] ("financial_data is a
   * quote snapshot").  NULL: the provider serves no history at all. */
  bool (*history)(const sp_dataset_def *ds, const char *interval, sp_source_history *out, char *why,
                  size_t whylen);
} sp_source_provider;

/* How requests are performed.  sp_source_transport_http() wraps the HTTP client;
 * tests supply fakes that answer from fixture files. */
typedef struct sp_source_transport {
  int (*submit)(void *impl, const sp_http_request *request, sp_error *err);
  int (*run)(void *impl, const volatile bool *stop, sp_error *err);
  void *impl;
} sp_source_transport;

/* A transport over `client` (which must outlive the transport's use). */
sp_source_transport sp_source_transport_http(sp_http_client *client);

/* A company of the ticker universe, for news tagging by name. */
typedef struct sp_source_company {
  const char *symbol; /* Yahoo form, "BRK-B" */
  const char *name;   /* "Berkshire Hathaway" */
} sp_source_company;

/* The analytics scorer's result for one text (see analytics/sentiment.h). */
typedef struct sp_source_sentiment {
  double score;          /* -1 … 1 */
  const char *label;     /* "positive", "neutral", "negative" (static string) */
  double subjectivity;   /* 0 … 1 */
} sp_source_sentiment;

/* Fundamentals cache kept by the caller across rounds ("refreshed at most daily").
 * Create with sp_source_cache_new, free with sp_source_cache_free. */
typedef struct sp_source_cache sp_source_cache;
int sp_source_cache_new(sp_source_cache **out);
void sp_source_cache_free(sp_source_cache *cache);

/* One round of one dataset.  Every pointer is borrowed for the call's duration. */
typedef struct sp_source_round {
  const sp_dataset_def *ds;
  const char *const *providers; /* provider names in configured order */
  size_t nproviders;
  const char *const *tickers;   /* Yahoo form symbols (market datasets and news) */
  size_t ntickers;
  const sp_source_company *companies; /* names for news tagging; may be NULL */
  size_t ncompanies;
  const char *const *series;    /* macro: indicator names; policy: event types; NULL = all */
  size_t nseries;
  const char *bar_interval;     /* stock_movements: "1h" or "1d" (NULL = "1h") */
  int initial_history_days;     /* first poll of a series; 0 = 60 for 1h, 730 for 1d */
  int64_t now_us;               /* the round's clock (collected_at, completeness) */
  /* The credential named by SPEC (e.g. "fred_api_key"), or NULL when not configured. */
  const char *(*credential)(void *arg, const char *name);
  /* The stored watermark for `key`; false when none is stored. */
  bool (*get_watermark)(void *arg, const char *key, int64_t *value);
  /* Receives each new row (provider and collected_at filled) and the request it came
   * from (key redacted).  The row is valid only during the call: copy or encode it.
   * A non-zero return aborts that response's remaining rows and fails the request. */
  int (*emit)(void *arg, const sp_row *row, const char *request, sp_error *err);
  /* Receives each item of a response a provider's parser could not turn into a row
   * (sp_source_reject): `row` holds what could be read of it (provider and
   * collected_at filled, key columns possibly null), `rule` a rule of core/validate.h's
   * table, `detail` what was wrong, `raw` the item as the provider sent it, `request`
   * the request (key redacted).  The caller writes it to the quarantine (never a silent
   * drop).  NULL: each is logged as a warning instead.  A non-zero return fails the
   * request like emit's. */
  int (*reject)(void *arg, const sp_row *row, const char *rule, const char *detail, const char *raw,
                const char *request, sp_error *err);
  /* Optional override of the news sentiment scorer; NULL uses the analytics scorer
   * (sp_sentiment_score_article in analytics/sentiment.h). */
  int (*sentiment)(void *arg, const char *text, sp_source_sentiment *out);
  void *arg;                    /* passed to the callbacks above */
  sp_source_cache *cache;       /* fundamentals cache; NULL fetches every round */
  const char *config_dir;       /* where shipped data files live (fomc_calendar.csv):
                                   the config file's folder; NULL = ./config, then the
                                   source tree's config/ */
  const volatile bool *stop;    /* set to interrupt the round, may be NULL */
  /* Backfill: NULL for a live round.  When set, each provider requests exactly this
   * window (providers whose `history` refuses the dataset, or whose max age does not
   * reach the window's start, are skipped: DISABLED),
   * rows outside it are dropped (not quarantined: the neighbouring chunks store them)
   * and stored watermarks do not filter rows (the caller decides what is new, see
   * core/backfill.h). */
  const sp_source_window *window;
  /* Daily request quotas (core/quota.h): the state store counting requests, or NULL
   * for no quota accounting (then no quota applies). */
  struct sp_state *quota_state;
  /* A provider's daily limit (0 = none); NULL uses sp_source_provider.daily_limit. */
  int64_t (*daily_limit)(void *arg, const char *provider);
  /* Rounds every source of `provider` still runs today, this one included
   * (sp_quota_rounds_left_today): the round spends remaining / that.  NULL, or a
   * value <= 1: this round may spend all that is left today (one-off rounds). */
  int (*rounds_left_today)(void *arg, const char *provider);
  /* The configured source's name: ticker rotation cursors are per (provider, source).
   * NULL: per (provider, dataset). */
  const char *source_name;
  /* Backfill rounds (window set): the share of each provider's daily limit, in
   * percent (0..100), left unspent for the live rounds (sp_quota_backfill_budget). */
  int quota_reserve_percent;
} sp_source_round;

typedef enum sp_source_status {
  SP_SOURCE_OK = 0,      /* every request sent succeeded (some may be deferred: see
                            deferred and deferred_tickers) */
  SP_SOURCE_DISABLED,    /* missing credential: warned once, not a failure */
  SP_SOURCE_FAILED,      /* at least one request failed (rows of the others kept) */
  SP_SOURCE_UNKNOWN      /* not a provider, or it does not serve the dataset */
} sp_source_status;

typedef struct sp_source_provider_report {
  char provider[32];
  sp_source_status status;
  int requests;          /* requests submitted */
  int failures;          /* requests that failed */
  long rows;             /* rows emitted */
  int shape_changes;     /* responses whose shape changed (sources/shape.h) */
  int deferred;          /* requests not sent: over the daily quota or this round's share */
  int deferred_tickers;  /* per_ticker datasets: tickers left for later rounds */
  int64_t quota_remaining; /* requests left today after the round; -1 when no quota */
  sp_error first_error;  /* the first failure's message (key redacted) */
} sp_source_provider_report;

typedef struct sp_source_report {
  sp_source_provider_report providers[SP_SOURCE_MAX_PROVIDERS];
  int nproviders;
  long rows;             /* rows emitted by all providers */
} sp_source_report;

/* Run one round of `round->ds` over `round->providers`.  Fills `report` (one entry
 * per configured provider, in order).  Returns 0 when every enabled provider
 * succeeded; otherwise the first failure's code with err naming how many providers
 * failed and the first error.  SP_ERR_INVALID for a bad round (no dataset, too many
 * providers); SP_ERR_STOPPED when interrupted. */
int sp_source_collect(const sp_source_transport *transport, const sp_source_round *round,
                      sp_source_report *report, sp_error *err);

/* Whether `provider` can serve history of `ds` (at `interval` for bars; NULL = the
 * dataset's default): true with its limits in *out (may be NULL), or false with the
 * reason in why[whylen] (not a provider of ds, no `history` entry, or its refusal). */
bool sp_source_serves_history(const sp_source_provider *provider, const sp_dataset_def *ds, const char *interval,
                              sp_source_history *out, char *why, size_t whylen);

/* The provider named `name`, or NULL. */
const sp_source_provider *sp_source_find(const char *name);
/* All providers; *count receives their number. */
const sp_source_provider *const *sp_source_providers(size_t *count);

/* The watermark key (into key[SP_SOURCE_KEY_MAX]) and value of a complete row (see
 * the table above).  Returns 0, or SP_ERR_INVALID when the key columns are null. */
int sp_source_row_watermark(const sp_row *row, char *key, int64_t *value);

/* News identity across rounds and providers (SPEC §1: "the same article from two
 * providers is stored once"): for a news row, the key "news/id/<article_id>/<ticker>"
 * into key[SP_SOURCE_KEY_MAX].  The caller stores it like a watermark (any value, e.g.
 * published_at) when it stores the row; sp_source_emit skips rows whose identity key
 * get_watermark reports as present.  Returns 0, or SP_ERR_NOT_FOUND for datasets
 * without one (their watermark suffices), SP_ERR_INVALID for missing columns. */
int sp_source_row_identity(const sp_row *row, char *key);

/* ---- For provider implementations ----------------------------------------------- */

/* What a provider sees during a round. */
struct sp_source_ctx {
  const sp_source_round *round;
  const sp_source_provider *provider;
  const sp_source_transport *transport;
  const char *api_key;                  /* NULL for keyless providers */
  sp_source_provider_report *report;
  bool halted;                          /* the provider stopped itself (bad key...) */
  bool failure_reported;                /* the failing response's cause was logged already
                                           (a shape change): count it, log it at debug */
  int logged_failures;                  /* failures logged at ERROR this round (the first
                                           SP_SOURCE_FAILURES_LOGGED; the rest at DEBUG) */
  struct sp_source_news_seen *news_seen; /* news (article_id, ticker) and policy event_id
                                            emitted this round */
  struct sp_source_quote_merge *merge;   /* financial_data: fundamentals to merge */
  int64_t quota_limit;                  /* daily request limit in force, 0 = none */
  int64_t quota_budget;                 /* requests this round may still send */
  bool quota_exhausted;                 /* the day's quota is used up */
};

/* The provider said its daily limit is reached (e.g. a rate-limit answer that persists
 * after the retries): when ctx's provider has a daily quota, count the UTC day as used
 * up (no more requests until 00:00 UTC), log it once, count the request as deferred
 * and return true; false (nothing done) when it has none. */
bool sp_source_quota_used_up(sp_source_ctx *ctx, const sp_error *cause);

/* Called with a successful (2xx, accepted by classify) response.  `data` is the
 * request's copy of what was given to sp_source_submit.  Return 0, or an error which
 * is logged once and counted as that request's failure. */
typedef int (*sp_source_response_fn)(sp_source_ctx *ctx, const sp_http_response *resp,
                                      void *data, sp_error *err);

/* Submit GET `path` (path + query of the real API) for ctx's provider.  `data`
 * (`size` bytes) is copied and handed to `on_response`; `classify` may be NULL.
 * Browser-like headers are sent for Yahoo, JSON Accept for the others.
 * Returns 0 or the transport's error (also recorded as a failure). */
int sp_source_submit(sp_source_ctx *ctx, const char *path,
                     int (*classify)(const sp_http_response *resp, void *arg),
                     sp_source_response_fn on_response, const void *data, size_t size,
                     sp_error *err);

/* Called instead of counting a failure when a request fails (after its retries):
 * return true when the provider recovered (e.g. used a shipped fallback file) — the
 * failure is then logged as a warning and not counted — or false to count it. */
typedef bool (*sp_source_failure_fn)(sp_source_ctx *ctx, const sp_error *cause, void *data);

/* sp_source_submit with a failure hook (called for transport/HTTP failures and for
 * on_response errors alike). */
int sp_source_submit_with_fallback(sp_source_ctx *ctx, const char *path,
                                   int (*classify)(const sp_http_response *resp, void *arg),
                                   sp_source_response_fn on_response,
                                   sp_source_failure_fn on_failure, const void *data,
                                   size_t size, sp_error *err);

/* Emit one row: sets provider and collected_at, drops it when not newer than its
 * watermark (in a window round: when outside the window) or already emitted this round (news: (article_id, ticker); policy:
 * event_id), then hands it to the round's emit.  Returns 0 or the emit callback's error. */
int sp_source_emit(sp_source_ctx *ctx, sp_row *row, const char *request, sp_error *err);

/* An item of a response that a parser could not turn into a row (issue 10: never a
 * silent drop; it goes to the quarantine).  Every pointer is borrowed for the call. */
typedef struct sp_source_bad_item {
  const char *rule;         /* a rule of core/validate.h's table: "item_unparseable" (SP_RULE_ITEM),
                               or a dataset rule the item breaks before a row exists
                               (news "url_invalid", "headline_empty") */
  const char *detail;       /* what was wrong, naming the provider's field: "publishedAt missing" */
  const struct cJSON *json; /* the item as received (JSON providers), or NULL */
  const char *text;         /* or its text (XML, HTML), when json is NULL */
  const sp_row *row;        /* what could be read of it (a row of the round's dataset,
                               provider/collected_at unset), or NULL */
} sp_source_bad_item;

/* A parser's callback for bad items; `arg` is the one its row callback gets.  Parsers
 * accept NULL (the item is then skipped: tests and fuzzing). */
typedef int (*sp_source_bad_item_fn)(void *arg, const sp_source_bad_item *item, sp_error *err);

/* Hand a bad item of ctx's provider to the round's reject callback (round->reject): a
 * row of the round's dataset with what was read, provider and collected_at, and the
 * raw text (cJSON printed unformatted when item->json is set).  Logs it at WARN when
 * the round has no reject callback.  Returns 0, SP_ERR_NOMEM or the callback's error. */
int sp_source_reject(sp_source_ctx *ctx, const sp_source_bad_item *item, const char *request, sp_error *err);

/* Adapter for parsers' bad-item callbacks during a round: `target` is a
 * sp_source_emit_target (the same as the row callback's). */
int sp_source_reject_to_target(void *target, const sp_source_bad_item *item, sp_error *err);

/* Count an item a parser skipped because, by the provider's documentation, it holds no
 * data (FRED's "." value, a World Bank or Treasury null, a NewsAPI "[Removed]"
 * article, a Yahoo bar still forming...): stockpipe_source_items_skipped_total{provider,
 * reason} (core/metrics.h) and a DEBUG line naming `what` (the item: a date, a URL).
 * Never fails (a count lost to memory shortage is logged). */
void sp_source_count_skip(const char *provider, const char *reason, const char *what);

/* A provider's failed requests logged one by one (ERROR) per round; the rest at DEBUG,
 * counted in the round's report and summary (an outage fails every ticker). */
#define SP_SOURCE_FAILURES_LOGGED 5

/* Record and log a failed request of ctx's provider: at ERROR for the round's first
 * SP_SOURCE_FAILURES_LOGGED (the last of them says the rest go to DEBUG), at DEBUG when
 * ctx->failure_reported is set (the flag is cleared), when the request was stopped by
 * a shutdown (SP_ERR_STOPPED) or past that number. */
void sp_source_fail(sp_source_ctx *ctx, const char *request, long status, const char *body,
                    size_t body_len, const sp_error *cause);

/* The stored watermark for `key`; false when none. */
bool sp_source_watermark(const sp_source_ctx *ctx, const char *key, int64_t *value);

/* A parser's row sink: receives each parsed row (provider/collected_at unset).  The
 * row is valid only during the call. */
typedef int (*sp_source_row_fn)(void *arg, sp_row *row, sp_error *err);

/* financial_data: fundamentals (market_cap, pe_ratio, eps, dividend_yield,
 * week52_high, week52_low) for `partial`'s ticker from ctx's provider.  Quote rows
 * emitted in the same round get each null fundamental from the first provider (in
 * configured order) that gave one; the values are kept in the round's cache.
 * Returns 0 or SP_ERR_NOMEM. */
int sp_source_put_fundamentals(sp_source_ctx *ctx, const sp_row *partial);
/* True when ctx's provider fetched fundamentals for `ticker` less than a day ago
 * (then it need not fetch them again; the cached values are merged). */
bool sp_source_fundamentals_fresh(const sp_source_ctx *ctx, const char *ticker);

/* Paging position a parser reports: the provider's total, this page's offset and how
 * many items it held (so collect code knows whether to ask for the next page). */
typedef struct sp_source_page {
  long total;
  long offset;
  long count;
  long pages;  /* providers that count pages (World Bank, Treasury): total pages, else 0 */
  long page;   /* and this page's number (1-based) */
} sp_source_page;

/* Adapter for parsers' emit callbacks during a round: `arg` is a
 * sp_source_emit_target; calls sp_source_emit(ctx, row, request). */
typedef struct sp_source_emit_target {
  sp_source_ctx *ctx;
  const char *request; /* the response's URL (redacted) */
} sp_source_emit_target;
int sp_source_emit_to_target(void *target, sp_row *row, sp_error *err);

/* ---- row builders shared by providers ----------------------------------------------- */

/* Fill a macroeconomic row (reset first): `value` NAN = null.  Returns 0 or an
 * SP_ERR_* from the row setters (SP_ERR_NOMEM). */
int sp_source_macro_row(sp_row *row, const char *indicator, const char *series_id,
                        int32_t observation_date, double value, const char *unit,
                        const char *frequency);

/* Fill a policy row (reset first): event_id = hex SHA-256 of "<provider>:<natural_id>";
 * summary/url/details may be NULL, value NAN = null.  Returns 0 or SP_ERR_NOMEM. */
int sp_source_policy_row(sp_row *row, const char *provider, const char *event_type,
                         const char *natural_id, int64_t event_time, const char *title,
                         const char *summary, const char *url, double value,
                         const char *details);

/* The exchange spelling of a Yahoo-form symbol for providers that use it (Alpha
 * Vantage, Finnhub): '-' becomes '.' ("BRK-B" → "BRK.B").  Writes at most cap-1 bytes
 * plus NUL. */
void sp_source_exchange_symbol(const char *yahoo_symbol, char *out, size_t cap);

/* Hand a row a builder just filled to `emit`: when the builder failed (`build_rc`
 * non-zero, i.e. out of memory) report that instead.  Returns 0 or the error. */
int sp_source_emit_built(int build_rc, sp_row *row, sp_source_row_fn emit, void *arg,
                         sp_error *err);

/* Whether `name` is in the round's list (round->series); a NULL list means all. */
bool sp_source_wants(const sp_source_round *round, const char *name);

/* ---- JSON helpers shared by the parsers (cJSON) ---------------------------------- */
struct cJSON;
/* Parse `len` bytes of `body`.  SP_ERR_PARSE naming `what` and an excerpt on failure.
 * Free the result with cJSON_Delete. */
int sp_json_parse(const char *body, size_t len, const char *what, struct cJSON **out,
                  sp_error *err);
/* The member `name` as a number: a JSON number, or a string holding a finite number
 * (Alpha Vantage and FRED quote their numbers).  False for absent, null, "None", ".",
 * "-" and other non-numbers. */
bool sp_json_number(const struct cJSON *obj, const char *name, double *out);
/* The member `name` as a count (paging totals, offsets, page numbers): the number
 * when it is finite and within 0 … 1e12, else `fallback`. */
long sp_json_count(const struct cJSON *obj, const char *name, long fallback);
/* The member `name` as a string, or NULL (absent, null, not a string). */
const char *sp_json_string(const struct cJSON *obj, const char *name);
/* Unix seconds (as providers send them) to microseconds: false unless 0 <= seconds <
 * year 10000 (so hostile or corrupt values cannot overflow). */
bool sp_source_unix_seconds(double seconds, int64_t *us);
/* Parse text as a finite number (whole string, leading/trailing spaces allowed). */
bool sp_parse_number(const char *text, double *out);

#endif
