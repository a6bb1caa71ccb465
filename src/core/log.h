/*
 * log.h — leveled log lines with UTC ISO 8601 timestamps and a component name,
 * to stderr and/or a file:
 *
 *   2026-11-25T14:30:00.123Z INFO  [yahoo] fetched 7 quotes
 *
 * Every line (and every message passed through sp_redact) has registered secrets
 * (API keys, passwords) replaced by "REDACTED" before it is written, so a key can
 * never reach a log even when it is embedded in a URL or a provider's error text.
 * Thread-safe.  sp_log_reopen() reopens the file (for SIGHUP / logrotate).
 */
#ifndef STOCKPIPE_CORE_LOG_H
#define STOCKPIPE_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum sp_log_level {
  SP_LOG_DEBUG = 0,
  SP_LOG_INFO,
  SP_LOG_WARN,
  SP_LOG_ERROR,
  SP_LOG_OFF
} sp_log_level;

/* Parse "DEBUG", "INFO", "WARN"/"WARNING", "ERROR", "OFF" (any case).  Returns 0 or -1. */
int sp_log_level_parse(const char *text, sp_log_level *level);
const char *sp_log_level_name(sp_log_level level);

void sp_log_set_level(sp_log_level level);
sp_log_level sp_log_get_level(void);
/* Also write to `path` (appending); "" or NULL stops file logging.  When `to_stderr`
 * is false only the file gets lines.  Returns 0 or SP_ERR_IO (message in errbuf). */
int sp_log_set_file(const char *path, bool to_stderr, char *errbuf, size_t errlen);
/* Reopen the log file at the same path (after rotation).  Returns 0 or SP_ERR_IO. */
int sp_log_reopen(void);

/* Register a secret that must never be printed (copied; strings shorter than 4
 * bytes are ignored as they would redact ordinary text). */
void sp_log_add_secret(const char *secret);
/* Forget all registered secrets (tests). */
void sp_log_clear_secrets(void);
/* Replace every registered secret inside the NUL-terminated `text` (in place). */
void sp_redact(char *text);

void sp_log(sp_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define SP_DEBUG(comp, ...) sp_log(SP_LOG_DEBUG, comp, __VA_ARGS__)
#define SP_INFO(comp, ...) sp_log(SP_LOG_INFO, comp, __VA_ARGS__)
#define SP_WARN(comp, ...) sp_log(SP_LOG_WARN, comp, __VA_ARGS__)
#define SP_ERROR(comp, ...) sp_log(SP_LOG_ERROR, comp, __VA_ARGS__)

#endif
