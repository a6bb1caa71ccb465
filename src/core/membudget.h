/*
 * membudget.h — one process-wide memory budget shared by everything that buffers
 * events in RAM: memory channels (their queued events) and sinks (their encode
 * buffers).  A component reserves bytes before it holds them and releases them when
 * it lets go, so a burst on one channel cannot make the process grow without bound:
 * once the budget is spent, puts block (backpressure reaches the sources) and sinks
 * retry later instead of allocating.
 *
 * So that a sink whose channel is full (a dead sink) cannot starve the others,
 * channels get only part of the budget: all channels together at most
 * SP_MEMBUDGET_CHANNELS_PCT percent of it, one channel at most
 * SP_MEMBUDGET_ONE_CHANNEL_PCT percent; the rest is left to sinks' encode buffers.
 *
 * A budget is a counter (limit, used) updated with atomics; it does not allocate
 * anything itself.  Every function is thread-safe.  A NULL budget means "unlimited"
 * for every function below, so components work without one (tests, tools).
 */
#ifndef STOCKPIPE_CORE_MEMBUDGET_H
#define STOCKPIPE_CORE_MEMBUDGET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct sp_membudget {
  size_t limit;         /* bytes; fixed after init */
  _Atomic size_t used;  /* bytes currently reserved */
  _Atomic size_t peak;  /* highest `used` seen (for metrics) */
} sp_membudget;

#define SP_MEMBUDGET_CHANNELS_PCT 75
#define SP_MEMBUDGET_ONE_CHANNEL_PCT 50

/* Default budget when the configuration names none: 256 MiB. */
#define SP_MEMBUDGET_DEFAULT_LIMIT ((size_t)256 << 20)

/* Set up `b` with `limit` bytes (0 = SP_MEMBUDGET_DEFAULT_LIMIT) and nothing used.
 * There is nothing to free. */
void sp_membudget_init(sp_membudget *b, size_t limit);

/* Reserve `bytes` if they fit under the limit.  Returns true when reserved (the
 * caller must release them later), false when the budget is spent (nothing
 * reserved).  A single request larger than the whole limit is granted only when
 * nothing else is reserved, so one oversized event cannot wedge the pipeline. */
bool sp_membudget_try_reserve(sp_membudget *b, size_t bytes);
/* The same, but only while the total stays at or below `ceiling` bytes (<= limit). */
bool sp_membudget_try_reserve_upto(sp_membudget *b, size_t bytes, size_t ceiling);

/* Give back `bytes` reserved earlier (never more than was reserved). */
void sp_membudget_release(sp_membudget *b, size_t bytes);

/* Bytes reserved now / the limit (0 for a NULL budget). */
size_t sp_membudget_used(sp_membudget *b);
size_t sp_membudget_limit(const sp_membudget *b);

#endif
