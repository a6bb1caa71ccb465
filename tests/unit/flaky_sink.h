/*
 * flaky_sink.h — a test sink that forwards to a real sink but fails some commits
 * with a transient SP_ERR_IO: the first `fail_first` ones (all when negative), and
 * then each one with probability `fail_percent`.  Header-only, for the sink runner
 * and crash tests.
 */
#ifndef STOCKPIPE_TESTS_FLAKY_SINK_H
#define STOCKPIPE_TESTS_FLAKY_SINK_H

#include "sinks/sink.h"

#include <stdlib.h>

typedef struct flaky_sink {
  sp_sink base;
  sp_sink *inner; /* owned */
  int fail_first;
  int fail_percent;
  unsigned seed;
  int commits;
} flaky_sink;

static inline int flaky_begin(sp_sink *s, sp_error *err) {
  flaky_sink *f = (flaky_sink *)s;
  return f->inner->ops->begin(f->inner, err);
}
static inline int flaky_write(sp_sink *s, const sp_event *ev, size_t n, sp_error *err) {
  flaky_sink *f = (flaky_sink *)s;
  return f->inner->ops->write(f->inner, ev, n, err);
}
static inline int flaky_commit(sp_sink *s, sp_error *err) {
  flaky_sink *f = (flaky_sink *)s;
  f->commits++;
  if (f->fail_first < 0 || f->commits <= f->fail_first ||
      (f->fail_percent > 0 && rand_r(&f->seed) % 100 < f->fail_percent))
    return sp_error_set(err, SP_ERR_IO, "server unreachable (commit %d)", f->commits);
  return f->inner->ops->commit(f->inner, err);
}
static inline void flaky_abort(sp_sink *s) {
  flaky_sink *f = (flaky_sink *)s;
  f->inner->ops->abort(f->inner);
}
static inline void flaky_close(sp_sink *s) {
  flaky_sink *f = (flaky_sink *)s;
  sp_sink_close(f->inner);
  sp_sink_base_cleanup(s);
  free(f);
}
static const sp_sink_ops flaky_sink_ops = {"flaky", flaky_begin, flaky_write, flaky_commit, flaky_abort,
                                           flaky_close, NULL,         NULL};

/* Wrap `inner` (taking ownership).  NULL when out of memory. */
static inline flaky_sink *flaky_sink_wrap(sp_sink *inner, const char *name, int fail_first, int fail_percent,
                                          unsigned seed) {
  flaky_sink *f = calloc(1, sizeof *f);
  if (!f || sp_sink_base_init(&f->base, &flaky_sink_ops, name, NULL)) {
    free(f);
    return NULL;
  }
  f->inner = inner;
  f->fail_first = fail_first;
  f->fail_percent = fail_percent;
  f->seed = seed;
  return f;
}

#endif
