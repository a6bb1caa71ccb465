/*
 * credentials.h — the API keys (SPEC §3): credentials.json plus environment
 * overrides.
 *
 * File: a JSON object with any of "finnhub_api_key", "newsapi_key",
 * "alpha_vantage_key", "fred_api_key" (string values; other keys are an error
 * naming them).  The file is refused when group or others have any permission on
 * it (the message says `chmod 600 <path>`).  A missing file is not an error: the
 * keys are simply absent.  Environment variables override the file:
 * STOCKPIPE_FINNHUB_KEY, STOCKPIPE_NEWSAPI_KEY, STOCKPIPE_ALPHAVANTAGE_KEY,
 * STOCKPIPE_FRED_KEY (an empty variable is ignored).
 *
 * Every key loaded is registered with sp_log_add_secret (core/log.h), so logs and
 * sp_redact'ed messages print REDACTED instead.  No message from this module ever
 * contains a key.
 */
#ifndef STOCKPIPE_CORE_CREDENTIALS_H
#define STOCKPIPE_CORE_CREDENTIALS_H

#include "stockpipe/error.h"

#include <stdbool.h>

typedef enum sp_credential_id {
  SP_CRED_FINNHUB = 0, /* "finnhub_api_key",   STOCKPIPE_FINNHUB_KEY */
  SP_CRED_NEWSAPI,     /* "newsapi_key",       STOCKPIPE_NEWSAPI_KEY */
  SP_CRED_ALPHAVANTAGE,/* "alpha_vantage_key", STOCKPIPE_ALPHAVANTAGE_KEY */
  SP_CRED_FRED,        /* "fred_api_key",      STOCKPIPE_FRED_KEY */
  SP_CRED_COUNT
} sp_credential_id;

typedef enum sp_credential_origin {
  SP_CRED_ABSENT = 0,
  SP_CRED_FROM_FILE,
  SP_CRED_FROM_ENV
} sp_credential_origin;

typedef struct sp_credentials {
  char *keys[SP_CRED_COUNT];                  /* NULL when absent */
  sp_credential_origin origin[SP_CRED_COUNT];
  char *path;                                 /* the file looked at (NULL if none) */
  bool file_found;                            /* the file existed and was read */
} sp_credentials;

/* Load `path` (NULL = no file) and apply the environment overrides into *out
 * (zeroed first; release with sp_credentials_free, also after a failure).
 * Returns 0; SP_ERR_CONFIG for a file readable by group/others, invalid JSON
 * ("path:line:column: ..."), a non-string value, an unknown key (named), or a
 * value still the example's placeholder; SP_ERR_IO for an unreadable file;
 * SP_ERR_NOMEM.  `err` names the file and the problem, never a key. */
int sp_credentials_load(const char *path, sp_credentials *out, sp_error *err);

/* The key or NULL when absent.  The string belongs to `creds`. */
const char *sp_credentials_get(const sp_credentials *creds, sp_credential_id id);

/* The key a provider needs ("finnhub", "newsapi", "alphavantage", "fred"), or NULL
 * when the provider needs none or the key is absent. */
const char *sp_credentials_for_provider(const sp_credentials *creds, const char *provider);

/* The JSON field and environment variable names of a credential (static). */
const char *sp_credential_json_name(sp_credential_id id);
const char *sp_credential_env_name(sp_credential_id id);
/* The provider a credential belongs to ("finnhub", ...), static. */
const char *sp_credential_provider(sp_credential_id id);

/* Wipe and free the keys and path (the struct itself is the caller's). */
void sp_credentials_free(sp_credentials *creds);

#endif
