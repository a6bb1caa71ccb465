/*
 * credentials.c — credentials.json + environment overrides (see credentials.h).
 * Parsed with cJSON; keys are registered as log secrets as soon as they are read.
 */
#include "core/credentials.h"

#include "core/log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct credential_def {
  const char *json_name;
  const char *env_name;
  const char *provider;
} credential_def;

static const credential_def defs[SP_CRED_COUNT] = {
    {"finnhub_api_key", "STOCKPIPE_FINNHUB_KEY", "finnhub"},
    {"newsapi_key", "STOCKPIPE_NEWSAPI_KEY", "newsapi"},
    {"alpha_vantage_key", "STOCKPIPE_ALPHAVANTAGE_KEY", "alphavantage"},
    {"fred_api_key", "STOCKPIPE_FRED_KEY", "fred"},
};

/* The example file's values start with this: a copied example is not a key. */
static const char placeholder_prefix[] = "PLACEHOLDER";

const char *sp_credential_json_name(sp_credential_id id) { return defs[id].json_name; }
const char *sp_credential_env_name(sp_credential_id id) { return defs[id].env_name; }
const char *sp_credential_provider(sp_credential_id id) { return defs[id].provider; }

static void wipe_free(char *s) {
  if (!s) return;
  explicit_bzero(s, strlen(s));
  free(s);
}

void sp_credentials_free(sp_credentials *c) {
  for (int i = 0; i < SP_CRED_COUNT; i++) {
    wipe_free(c->keys[i]);
    c->keys[i] = NULL;
    c->origin[i] = SP_CRED_ABSENT;
  }
  free(c->path);
  c->path = NULL;
}

static int set_key(sp_credentials *c, int id, const char *value, sp_credential_origin origin) {
  char *copy = strdup(value);
  if (!copy) return SP_ERR_NOMEM;
  sp_log_add_secret(copy);
  wipe_free(c->keys[id]);
  c->keys[id] = copy;
  c->origin[id] = origin;
  return SP_OK;
}

/* 1-based line and column of offset `at` in text. */
static void position_of(const char *text, const char *at, int *line, int *column) {
  *line = 1;
  *column = 1;
  for (const char *p = text; p < at && *p; p++) {
    if (*p == '\n') {
      (*line)++;
      *column = 1;
    } else {
      (*column)++;
    }
  }
}

static int read_file(const char *path, sp_credentials *c, char **text, sp_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return SP_OK; /* no file: keys absent */
    return sp_error_set(err, SP_ERR_IO, "%s: cannot open credentials file: %s", path, strerror(errno));
  }
  struct stat st;
  int rc = SP_OK;
  if (fstat(fd, &st) != 0) {
    rc = sp_error_set(err, SP_ERR_IO, "%s: cannot stat credentials file: %s", path, strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    rc = sp_error_set(err, SP_ERR_CONFIG, "%s: credentials path is not a regular file", path);
  } else if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    rc = sp_error_set(err, SP_ERR_CONFIG,
                      "%s: credentials file is accessible by group or others (mode %04o); "
                      "restrict it with: chmod 600 %s",
                      path, (unsigned)(st.st_mode & 07777), path);
  } else if (st.st_size > 1024 * 1024) {
    rc = sp_error_set(err, SP_ERR_CONFIG, "%s: credentials file is larger than 1 MiB", path);
  }
  if (rc == SP_OK) {
    char *buf = malloc((size_t)st.st_size + 1);
    size_t len = 0;
    if (!buf) rc = sp_error_set(err, SP_ERR_NOMEM, "out of memory reading %s", path);
    while (rc == SP_OK && len < (size_t)st.st_size) {
      ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) rc = sp_error_set(err, SP_ERR_IO, "%s: cannot read credentials file: %s", path, strerror(errno));
      if (n <= 0) break;
      len += (size_t)n;
    }
    if (rc == SP_OK) {
      buf[len] = '\0';
      *text = buf;
      c->file_found = true;
    } else if (buf) {
      explicit_bzero(buf, len);
      free(buf);
    }
  }
  close(fd);
  return rc;
}

static int parse_file(const char *path, const char *text, sp_credentials *c, sp_error *err) {
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
  if (!root) {
    int line, column;
    position_of(text, end ? end : text, &line, &column);
    return sp_error_set(err, SP_ERR_CONFIG, "%s:%d:%d: credentials file is not valid JSON", path, line, column);
  }
  int rc = SP_OK;
  if (!cJSON_IsObject(root)) {
    rc = sp_error_set(err, SP_ERR_CONFIG, "%s: credentials file must hold a JSON object", path);
  } else {
    char unknown[256] = "";
    size_t used = 0;
    for (cJSON *item = root->child; item && rc == SP_OK; item = item->next) {
      int id = -1;
      for (int i = 0; i < SP_CRED_COUNT; i++)
        if (item->string && strcmp(item->string, defs[i].json_name) == 0) id = i;
      if (id < 0) {
        if (used < sizeof unknown)
          used += (size_t)snprintf(unknown + used, sizeof unknown - used, "%s'%s'", used ? ", " : "",
                                   item->string ? item->string : "");
        continue;
      }
      if (!cJSON_IsString(item)) {
        rc = sp_error_set(err, SP_ERR_CONFIG, "%s: \"%s\" must be a string", path, defs[id].json_name);
      } else if (!*item->valuestring) {
        /* "" = not configured */
      } else if (strncmp(item->valuestring, placeholder_prefix, sizeof placeholder_prefix - 1) == 0) {
        rc = sp_error_set(err, SP_ERR_CONFIG,
                          "%s: \"%s\" is still the example's placeholder; put the real key or remove the line",
                          path, defs[id].json_name);
      } else {
        rc = set_key(c, id, item->valuestring, SP_CRED_FROM_FILE);
        if (rc) sp_error_set(err, rc, "out of memory reading %s", path);
      }
    }
    if (rc == SP_OK && used) {
      char known[128];
      snprintf(known, sizeof known, "%s, %s, %s, %s", defs[0].json_name, defs[1].json_name, defs[2].json_name,
               defs[3].json_name);
      rc = sp_error_set(err, SP_ERR_CONFIG, "%s: unknown key%s %s (known: %s)", path, strchr(unknown, ',') ? "s" : "",
                        unknown, known);
    }
  }
  /* wipe the parsed copies of the keys before freeing */
  for (cJSON *item = root->child; item; item = item->next)
    if (cJSON_IsString(item) && item->valuestring) explicit_bzero(item->valuestring, strlen(item->valuestring));
  cJSON_Delete(root);
  return rc;
}

int sp_credentials_load(const char *path, sp_credentials *out, sp_error *err) {
  memset(out, 0, sizeof *out);
  if (path && *path) {
    out->path = strdup(path);
    if (!out->path) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
    char *text = NULL;
    int rc = read_file(path, out, &text, err);
    if (rc == SP_OK && text) rc = parse_file(path, text, out, err);
    if (text) {
      explicit_bzero(text, strlen(text));
      free(text);
    }
    if (rc) return rc;
  }
  for (int i = 0; i < SP_CRED_COUNT; i++) {
    const char *env = getenv(defs[i].env_name);
    if (!env || !*env) continue;
    if (set_key(out, i, env, SP_CRED_FROM_ENV)) return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
  }
  return SP_OK;
}

const char *sp_credentials_get(const sp_credentials *c, sp_credential_id id) {
  return (unsigned)id < SP_CRED_COUNT ? c->keys[id] : NULL;
}

const char *sp_credentials_for_provider(const sp_credentials *c, const char *provider) {
  for (int i = 0; provider && i < SP_CRED_COUNT; i++)
    if (strcmp(defs[i].provider, provider) == 0) return c->keys[i];
  return NULL;
}
