/*
 * sink.c — what every sink shares (see sink.h).
 */
#include "sinks/sink.h"

#include <inttypes.h>

#include <stdlib.h>
#include <string.h>

int sp_sink_base_init(sp_sink *s, const sp_sink_ops *ops, const char *name, sp_error *err) {
  memset(s, 0, sizeof *s);
  s->ops = ops;
  s->name = strdup(name ? name : "");
  if (!s->name) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  if (sp_metrics_register(SP_METRICS_SINK, s->name, &s->counters)) {
    free(s->name);
    return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  return SP_OK;
}

void sp_sink_base_cleanup(sp_sink *s) {
  sp_metrics_unregister(&s->counters);
  free(s->name);
  s->name = NULL;
}

bool sp_sink_error_is_permanent(int code) {
  return code == SP_ERR_CORRUPT || code == SP_ERR_INVALID || code == SP_ERR_UNSUPPORTED;
}

void sp_sink_close(sp_sink *s) {
  if (s) s->ops->close(s);
}

int sp_sink_decode_event(const sp_sink *s, const sp_event *event, sp_row *row, sp_error *err) {
  int rc = sp_row_decode(event->data, event->len, row, err);
  if (rc) sp_error_prefix(err, "sink %s: event %" PRIu64, s->name, event->seq);
  return rc;
}
