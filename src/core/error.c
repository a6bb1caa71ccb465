/*
 * error.c — the sp_error record (see include/stockpipe/error.h).
 */
#include "stockpipe/error.h"

#include <stdio.h>
#include <string.h>

int sp_error_set(sp_error *err, int code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}

void sp_error_prefix(sp_error *err, const char *fmt, ...) {
  if (!err) return;
  char prefix[SP_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  char old[SP_ERROR_MSG_MAX];
  memcpy(old, err->msg, sizeof old);
  size_t n = strlen(prefix);
  if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
  memcpy(err->msg, prefix, n);
  memcpy(err->msg + n, ": ", 2);
  size_t rest = sizeof err->msg - n - 3;
  size_t olen = strnlen(old, rest);
  memcpy(err->msg + n + 2, old, olen);
  err->msg[n + 2 + olen] = '\0';
}

void sp_error_clear(sp_error *err) {
  if (!err) return;
  err->code = SP_OK;
  err->msg[0] = '\0';
}

const char *sp_status_name(int code) {
  switch (code) {
  case SP_OK: return "ok";
  case SP_ERR_INVALID: return "invalid";
  case SP_ERR_NOMEM: return "nomem";
  case SP_ERR_IO: return "io";
  case SP_ERR_CORRUPT: return "corrupt";
  case SP_ERR_CONFIG: return "config";
  case SP_ERR_PARSE: return "parse";
  case SP_ERR_HTTP: return "http";
  case SP_ERR_TIMEOUT: return "timeout";
  case SP_ERR_RATE_LIMIT: return "rate_limit";
  case SP_ERR_FULL: return "full";
  case SP_ERR_NOT_FOUND: return "not_found";
  case SP_ERR_UNSUPPORTED: return "unsupported";
  case SP_ERR_STOPPED: return "stopped";
  case SP_ERR_QUOTA: return "quota";
  case SP_ERR_RETRY: return "retry";
  default: return "unknown";
  }
}
