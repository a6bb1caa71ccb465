/*
 * backfill.h — history for a date range through the live pipeline (`stockpipe
 * backfill`, SPEC §4): the window arithmetic that splits a range into chunks a
 * provider serves, and the per-series cursors that make a backfill resumable and
 * keep it from storing a row twice.
 *
 * How a backfill runs (cli/cmd_backfill.c drives it, core/agent.c applies it):
 *   - the range [from, to) is clamped to what the source's providers serve
 *     (sp_backfill_range: not after now, not older than the provider's max age) and
 *     cut into chunks of at most the providers' request span (sp_backfill_chunk_*);
 *     chunk boundaries are a fixed grid from the range start, the same on every run;
 *   - each chunk is one source round with round->window set (sources/source.h): the
 *     providers ask for exactly that window, rows go through the same validation,
 *     completion (indicators), channels and sinks as live rows;
 *   - an sp_backfill decides, per series (the row's watermark key, e.g.
 *     "stock_movements/AAPL/1h"), which rows are new (sp_backfill_want) and stages
 *     its cursor in the same state-store transaction as the rows (sp_backfill_stage,
 *     called by the pipeline's commit), so a killed backfill re-run with the same
 *     arguments continues after the last committed row: nothing lost, nothing twice.
 *
 * The dedup rule (docs/OPERATIONS.md, "Backfill"): every series remembers the time of
 * the oldest row ever stored for it, its *first* (a floor the live collection and the
 * backfill both lower, sp_backfill_stage_first, in the transaction of the row).  When
 * a backfill first meets a series:
 *   - nothing stored yet (no first): the backfill *is* the series' live history: its
 *     rows advance the live watermark and use the live indicator state, so a later
 *     `collect` continues exactly where it ended (indicators as if collected live);
 *     a row is new when after the live watermark;
 *   - else the backfill fills only [from, min(to, first)): strictly before anything
 *     stored, with its own indicator state computed over its rows in time order
 *     (kept in its cursor); the live watermark and indicator state are not touched.
 * Live watermarks only ever move forward (sp_state_batch_advance_watermark).
 *
 * State-store keys, under the source's name: "<series>@first" (watermark table, the
 * floor) and "<series>@backfill:<run id>" (blob: the cursor, with the indicator state
 * of a series filled before its first).  The run id names the arguments (from and
 * to dates, "" for an open end), so each backfill range has its own cursors.
 *
 * Ownership: an sp_backfill borrows the state store (it must outlive it) and owns
 * its series; free with sp_backfill_free.  Not thread-safe: one controlling thread.
 * Errors: SP_ERR_INVALID (empty or impossible range), SP_ERR_IO / SP_ERR_CORRUPT (the
 * state store), SP_ERR_NOMEM.
 */
#ifndef STOCKPIPE_CORE_BACKFILL_H
#define STOCKPIPE_CORE_BACKFILL_H

#include "analytics/indicators.h"
#include "core/state.h"
#include "core/timeutil.h"
#include "sources/source.h"
#include "stockpipe/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default chunk length when the providers allow longer requests (or any length):
 * small enough that an interrupted backfill loses little and the progress bar moves. */
#define SP_BACKFILL_DEFAULT_CHUNK_DAYS 90
#define SP_BACKFILL_UNLIMITED_CHUNK_DAYS 365

/* A range clamped to a provider's max age starts this much later than the oldest it
 * keeps, so that its first chunk is still within reach when its turn comes (a provider
 * skips windows starting before now - max age). */
#define SP_BACKFILL_AGE_MARGIN_US SP_US_PER_DAY

/* ---- window arithmetic (pure) ---- */

/* The part of [from_us, to_us) a provider with `limits` serves at `now_us`: the end is
 * clamped to now, the start to now - max_age + SP_BACKFILL_AGE_MARGIN_US (when limited).  *clamped_start is set
 * when the start moved.  Errors: SP_ERR_INVALID when from >= to, or nothing of the
 * range is left (the message says why: in the future, older than the provider keeps). */
int sp_backfill_range(const sp_source_history *limits, int64_t from_us, int64_t to_us, int64_t now_us,
                      int64_t *start_us, int64_t *end_us, bool *clamped_start, sp_error *err);

/* The limits of several providers together (`first`: other is the first one, copied):
 * the shortest span (0 = none), so a chunk fits every provider's requests, and the
 * longest age (0 = unlimited), so the range is what the most patient one keeps; a
 * provider takes part only in the chunks it serves entirely (sources/source.h). */
void sp_backfill_limits_merge(sp_source_history *into, const sp_source_history *other, bool first);

/* The chunk length (µs) for `limits`: `requested_us` when > 0, else the default
 * (SP_BACKFILL_DEFAULT_CHUNK_DAYS, or SP_BACKFILL_UNLIMITED_CHUNK_DAYS when the
 * provider has no span limit), never longer than limits->max_span_us. */
int64_t sp_backfill_chunk_length(const sp_source_history *limits, int64_t requested_us);

/* Number of chunks of [start_us, end_us) of `chunk_us` each (the last may be
 * shorter); 0 for an empty range or a chunk <= 0. */
size_t sp_backfill_chunk_count(int64_t start_us, int64_t end_us, int64_t chunk_us);

/* Chunk `index` (< sp_backfill_chunk_count): [start + index*chunk, min(end, ...+chunk)). */
sp_source_window sp_backfill_chunk(int64_t start_us, int64_t end_us, int64_t chunk_us, size_t index);

/* ---- the first (floor) of a series ---- */

/* Stage "the series `key` of `source` has a row at `time_us`" (lowers its first).
 * Called for every stored row, live or backfilled.  Returns 0 or SP_ERR_NOMEM. */
int sp_backfill_stage_first(sp_state_batch *batch, const char *source, const char *key, int64_t time_us);

/* ---- cursors ---- */

typedef struct sp_backfill sp_backfill;

/* A backfill of `source` (its config name) over [start_us, end_us) (already clamped,
 * see sp_backfill_range), named `run_id` (e.g. "2026-01-01..2026-03-01"), whose
 * indicator states use `indicator_mask`.  Returns 0 and *out, or SP_ERR_NOMEM. */
int sp_backfill_open(sp_state *state, const char *source, const char *run_id, int64_t start_us, int64_t end_us,
                     unsigned indicator_mask, sp_backfill **out, sp_error *err);
void sp_backfill_free(sp_backfill *b);

/* Where one series stands in this backfill. */
typedef struct sp_backfill_progress {
  bool joins_live;  /* no row was stored for it before: the backfill is its live history */
  int64_t end_us;   /* its rows end before this (min(range end, its first) when not joining) */
  int64_t next_us;  /* rows before this are stored (or were stored before the backfill) */
  int64_t rows;     /* rows this backfill stored for it (all runs together) */
  bool failed;      /* a chunk of it failed in this run: it is skipped until the next run */
} sp_backfill_progress;

/* Load (first call) and report series `key` (a watermark key, sources/source.h).
 * A series stored by an older stockpipe (a live watermark but no recorded first)
 * cannot be deduplicated: it is marked failed with a warning.  Errors: state store. */
int sp_backfill_progress_of(sp_backfill *b, const char *key, sp_backfill_progress *out, sp_error *err);

/* True when series `key` still has rows to fetch in `window` (and did not fail). */
bool sp_backfill_needs(sp_backfill *b, const char *key, const sp_source_window *window);

/* Whether the row of series `key` at `time_us` is new for this backfill (loads the
 * series on first sight).  Errors: state store. */
int sp_backfill_want(sp_backfill *b, const char *key, int64_t time_us, bool *want, sp_error *err);

/* The backfill's own indicator state of series `key` (borrowed: valid until
 * sp_backfill_free; the caller pushes bars into it), or NULL when the series joins
 * the live history (use the live state) or was never loaded. */
sp_ind_state *sp_backfill_indicators(sp_backfill *b, const char *key);

/* Record that the row of `key` at `time_us` was stored (or quarantined): the cursor
 * moves past it at the next sp_backfill_stage. */
void sp_backfill_row_done(sp_backfill *b, const char *key, int64_t time_us);

/* Stage the cursors (with their indicator states) of every series changed since the
 * last call into `batch`, to commit with their rows.  Returns 0 or SP_ERR_NOMEM. */
int sp_backfill_stage(sp_backfill *b, sp_state_batch *batch);

/* The round of chunk `window` succeeded for the series `keys` (nkeys of them; keys
 * NULL = every series met so far): each still in the window moves its cursor to the
 * window's end, committed now (a re-run skips the chunk).  Errors: state store. */
int sp_backfill_chunk_done(sp_backfill *b, const sp_source_window *window, const char *const *keys, size_t nkeys,
                           sp_error *err);

/* The round of chunk `window` failed for the series `keys` (NULL = every series met):
 * each still in the window is skipped for the rest of this run (its later chunks would
 * leave a hole before them); the next run retries it from its cursor. */
void sp_backfill_chunk_failed(sp_backfill *b, const sp_source_window *window, const char *const *keys, size_t nkeys);

/* Forget that series `key` failed in this run, to try it again now (a chunk of
 * several series failed: each is retried alone to find the failing ones). */
void sp_backfill_retry(sp_backfill *b, const char *key);

/* Rows stored by this run (since sp_backfill_open). */
int64_t sp_backfill_rows(const sp_backfill *b);

#endif
