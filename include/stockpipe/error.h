/*
 * stockpipe/error.h — error codes and the error record every fallible call fills.
 *
 * Convention (like curl's error buffer): a function that can fail returns an int,
 * 0 (SP_OK) on success or a negative SP_ERR_* code, and writes a human-readable
 * message naming the thing at fault into the caller's `sp_error` (which may be
 * NULL when the caller does not want the text).  Messages never contain API keys.
 */
#ifndef STOCKPIPE_ERROR_H
#define STOCKPIPE_ERROR_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

enum sp_status {
  SP_OK = 0,
  SP_ERR_INVALID = -1,    /* bad argument or input value */
  SP_ERR_NOMEM = -2,      /* allocation failed */
  SP_ERR_IO = -3,         /* file system or socket error */
  SP_ERR_CORRUPT = -4,    /* stored data failed a check (CRC, magic, structure) */
  SP_ERR_CONFIG = -5,     /* configuration or credentials rejected */
  SP_ERR_PARSE = -6,      /* a provider response could not be understood */
  SP_ERR_HTTP = -7,       /* HTTP status that is not success and not retryable */
  SP_ERR_TIMEOUT = -8,    /* a deadline passed */
  SP_ERR_RATE_LIMIT = -9, /* the provider says slow down (429 or a note in the body) */
  SP_ERR_FULL = -10,      /* a channel or the disk is full */
  SP_ERR_NOT_FOUND = -11, /* a named thing does not exist */
  SP_ERR_UNSUPPORTED = -12, /* valid input this build cannot handle */
  SP_ERR_STOPPED = -13,   /* the operation was interrupted by shutdown */
  SP_ERR_QUOTA = -14,     /* a provider's daily request quota is used up (not retried today) */
  SP_ERR_RETRY = -15      /* undone by a change elsewhere, nothing lost: do it again now (a Kafka
                           * rebalance took the partition of a take in progress) */
};

#define SP_ERROR_MSG_MAX 512

typedef struct sp_error {
  int code;                     /* one of enum sp_status */
  char msg[SP_ERROR_MSG_MAX];   /* NUL-terminated message, "" when code == SP_OK */
} sp_error;

/* Record `code` and a printf-style message in `err` (ignored when err is NULL).
 * Returns `code` so callers can write `return sp_error_set(err, SP_ERR_IO, ...)`. */
int sp_error_set(sp_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the message already in `err` with more context ("reading X: <old msg>"). */
void sp_error_prefix(sp_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reset to SP_OK with an empty message. */
void sp_error_clear(sp_error *err);

/* Short constant name of a code ("io", "corrupt", ...). */
const char *sp_status_name(int code);

#ifdef __cplusplus
}
#endif
#endif
