/*
 * log.c — leveled, redacting log (see log.h).
 *
 * One process-wide logger guarded by a mutex.  Lines are formatted into a local
 * buffer, redacted, then written with a single fputs per sink so concurrent lines
 * never interleave.
 */
#include "core/log.h"

#include "core/timeutil.h"
#include "stockpipe/error.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SECRETS 32

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static sp_log_level current_level = SP_LOG_INFO;
static FILE *log_file;
static char *log_path;
static bool log_to_stderr = true;
static char *secrets[MAX_SECRETS];
static int nsecrets;

int sp_log_level_parse(const char *text, sp_log_level *level) {
  static const struct { const char *name; sp_log_level level; } names[] = {
      {"DEBUG", SP_LOG_DEBUG}, {"INFO", SP_LOG_INFO},   {"WARN", SP_LOG_WARN},
      {"WARNING", SP_LOG_WARN}, {"ERROR", SP_LOG_ERROR}, {"OFF", SP_LOG_OFF}};
  for (size_t i = 0; text && i < sizeof names / sizeof names[0]; i++)
    if (strcasecmp(text, names[i].name) == 0) {
      *level = names[i].level;
      return 0;
    }
  return -1;
}

const char *sp_log_level_name(sp_log_level level) {
  static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR", "OFF"};
  return (unsigned)level <= SP_LOG_OFF ? names[level] : "?";
}

void sp_log_set_level(sp_log_level level) {
  pthread_mutex_lock(&log_lock);
  current_level = level;
  pthread_mutex_unlock(&log_lock);
}

sp_log_level sp_log_get_level(void) {
  pthread_mutex_lock(&log_lock);
  sp_log_level l = current_level;
  pthread_mutex_unlock(&log_lock);
  return l;
}

int sp_log_set_file(const char *path, bool to_stderr, char *errbuf, size_t errlen) {
  FILE *f = NULL;
  if (path && *path) {
    f = fopen(path, "a");
    if (!f) {
      if (errbuf) snprintf(errbuf, errlen, "cannot open log file %s: %m", path);
      return SP_ERR_IO;
    }
    setvbuf(f, NULL, _IOLBF, 0);
  }
  pthread_mutex_lock(&log_lock);
  if (log_file) fclose(log_file);
  free(log_path);
  log_file = f;
  log_path = f ? strdup(path) : NULL;
  log_to_stderr = to_stderr || !f;
  pthread_mutex_unlock(&log_lock);
  return SP_OK;
}

int sp_log_reopen(void) {
  int rc = SP_OK;
  pthread_mutex_lock(&log_lock);
  if (log_path) {
    FILE *f = fopen(log_path, "a");
    if (f) {
      setvbuf(f, NULL, _IOLBF, 0);
      if (log_file) fclose(log_file);
      log_file = f;
    } else {
      rc = SP_ERR_IO; /* keep writing to the old descriptor */
    }
  }
  pthread_mutex_unlock(&log_lock);
  return rc;
}

void sp_log_add_secret(const char *secret) {
  if (!secret || strlen(secret) < 4) return;
  pthread_mutex_lock(&log_lock);
  bool known = false;
  for (int i = 0; i < nsecrets; i++)
    if (strcmp(secrets[i], secret) == 0) known = true;
  if (!known && nsecrets < MAX_SECRETS) {
    char *copy = strdup(secret);
    if (copy) secrets[nsecrets++] = copy;
  }
  pthread_mutex_unlock(&log_lock);
}

void sp_log_clear_secrets(void) {
  pthread_mutex_lock(&log_lock);
  for (int i = 0; i < nsecrets; i++) free(secrets[i]);
  nsecrets = 0;
  pthread_mutex_unlock(&log_lock);
}

/* Caller holds log_lock. "REDACTED" is 8 bytes; a secret is >= 4 bytes, so when the
 * replacement is longer we shift the tail, bounded by the buffer's own size. */
static void redact_locked(char *text, size_t cap) {
  static const char mask[] = "REDACTED";
  for (int i = 0; i < nsecrets; i++) {
    size_t slen = strlen(secrets[i]);
    char *hit = text;
    while ((hit = strstr(hit, secrets[i])) != NULL) {
      size_t tail = strlen(hit + slen);
      size_t mlen = sizeof mask - 1;
      size_t used = (size_t)(hit - text);
      if (used + mlen + tail + 1 > cap) {
        /* no room to grow: overwrite the secret with '*' */
        memset(hit, '*', slen);
        hit += slen;
        continue;
      }
      memmove(hit + mlen, hit + slen, tail + 1);
      memcpy(hit, mask, mlen);
      hit += mlen;
    }
  }
}

void sp_redact(char *text) {
  if (!text) return;
  pthread_mutex_lock(&log_lock);
  /* In place: the text can only be assumed to hold its own length. */
  redact_locked(text, strlen(text) + 1);
  pthread_mutex_unlock(&log_lock);
}

void sp_log(sp_log_level level, const char *component, const char *fmt, ...) {
  if (level < current_level || level >= SP_LOG_OFF) return;
  char line[4096];
  char ts[SP_TIMESTAMP_TEXT_MAX];
  int64_t now = sp_now_us();
  int millis = (int)(now % SP_US_PER_SEC / 1000);
  sp_format_timestamp(now - now % SP_US_PER_SEC, ts); /* "…T14:30:00Z" */
  size_t tl = strlen(ts) - 1; /* overwrite the Z: fixed width "…T14:30:00.120Z" */
  snprintf(ts + tl, sizeof ts - tl, ".%03dZ", millis % 1000);
  int n = snprintf(line, sizeof line, "%s %-5s [%s] ", ts, sp_log_level_name(level),
                   component ? component : "stockpipe");
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  va_end(ap);
  size_t len = strlen(line);
  while (len > 0 && line[len - 1] == '\n') line[--len] = '\0';
  pthread_mutex_lock(&log_lock);
  redact_locked(line, sizeof line - 1);
  len = strlen(line);
  line[len++] = '\n';
  line[len] = '\0';
  if (log_to_stderr) fputs(line, stderr);
  if (log_file) fputs(line, log_file);
  pthread_mutex_unlock(&log_lock);
}
