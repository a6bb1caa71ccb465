/*
 * test_credentials.c — credentials.json loading: keys read and registered as log
 * secrets (sp_redact masks them), refusal of group/other-readable files with the
 * chmod hint, environment overrides, unknown keys, invalid JSON with a position,
 * placeholders, a missing file; and that no error message contains a key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/credentials.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static char path[128];

static const char *const env_names[] = {"STOCKPIPE_FINNHUB_KEY", "STOCKPIPE_NEWSAPI_KEY", "STOCKPIPE_ALPHAVANTAGE_KEY",
                                        "STOCKPIPE_FRED_KEY"};

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/sp-creds-XXXXXX");
  if (!mkdtemp(dir)) return -1;
  snprintf(path, sizeof path, "%s/credentials.json", dir);
  for (int i = 0; i < 4; i++) unsetenv(env_names[i]);
  sp_log_clear_secrets();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  unlink(path);
  rmdir(dir);
  for (int i = 0; i < 4; i++) unsetenv(env_names[i]);
  sp_log_clear_secrets();
  return 0;
}

static void write_file(const char *text, mode_t mode) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  assert_int_equal(chmod(path, mode), 0);
}

static void test_load_and_redact(void **state) {
  (void)state;
  write_file("{\"finnhub_api_key\": \"fh-secret-1234\", \"fred_api_key\": \"fredsecret99\", \"newsapi_key\": \"\"}\n",
             0600);
  sp_credentials c;
  sp_error err = {0};
  assert_int_equal(sp_credentials_load(path, &c, &err), SP_OK);
  assert_true(c.file_found);
  assert_string_equal(sp_credentials_get(&c, SP_CRED_FINNHUB), "fh-secret-1234");
  assert_int_equal(c.origin[SP_CRED_FINNHUB], SP_CRED_FROM_FILE);
  assert_string_equal(sp_credentials_for_provider(&c, "fred"), "fredsecret99");
  assert_null(sp_credentials_get(&c, SP_CRED_NEWSAPI)); /* "" = not configured */
  assert_null(sp_credentials_for_provider(&c, "alphavantage"));
  assert_null(sp_credentials_for_provider(&c, "yahoo"));
  char line[256] = "GET https://finnhub.io/api/v1/quote?token=fh-secret-1234 and fredsecret99";
  sp_redact(line);
  assert_null(strstr(line, "fh-secret-1234"));
  assert_null(strstr(line, "fredsecret99"));
  assert_non_null(strstr(line, "token=REDACTED"));
  sp_credentials_free(&c);
  assert_null(c.keys[SP_CRED_FINNHUB]);
}

static void test_permissions_refused(void **state) {
  (void)state;
  mode_t modes[] = {0644, 0640, 0604, 0660, 0602};
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    write_file("{\"fred_api_key\": \"fredsecret99\"}", modes[i]);
    sp_credentials c;
    sp_error err = {0};
    assert_int_equal(sp_credentials_load(path, &c, &err), SP_ERR_CONFIG);
    char fix[256];
    snprintf(fix, sizeof fix, "chmod 600 %s", path);
    assert_non_null(strstr(err.msg, fix));
    assert_non_null(strstr(err.msg, "group or others"));
    assert_null(strstr(err.msg, "fredsecret99"));
    assert_null(sp_credentials_get(&c, SP_CRED_FRED));
    sp_credentials_free(&c);
  }
  write_file("{\"fred_api_key\": \"fredsecret99\"}", 0400); /* owner read-only is fine */
  sp_credentials c;
  sp_error err = {0};
  assert_int_equal(sp_credentials_load(path, &c, &err), SP_OK);
  sp_credentials_free(&c);
}

static void test_env_override(void **state) {
  (void)state;
  write_file("{\"alpha_vantage_key\": \"av-from-file-1\", \"newsapi_key\": \"news-from-file\"}", 0600);
  setenv("STOCKPIPE_ALPHAVANTAGE_KEY", "av-from-env-2", 1);
  setenv("STOCKPIPE_FRED_KEY", "fred-from-env", 1);
  setenv("STOCKPIPE_NEWSAPI_KEY", "", 1); /* empty: ignored */
  sp_credentials c;
  sp_error err = {0};
  assert_int_equal(sp_credentials_load(path, &c, &err), SP_OK);
  assert_string_equal(sp_credentials_get(&c, SP_CRED_ALPHAVANTAGE), "av-from-env-2");
  assert_int_equal(c.origin[SP_CRED_ALPHAVANTAGE], SP_CRED_FROM_ENV);
  assert_string_equal(sp_credentials_get(&c, SP_CRED_FRED), "fred-from-env");
  assert_string_equal(sp_credentials_get(&c, SP_CRED_NEWSAPI), "news-from-file");
  char line[256] = "av-from-file-1 av-from-env-2 fred-from-env";
  sp_redact(line);
  assert_string_equal(line, "REDACTED REDACTED REDACTED");
  sp_credentials_free(&c);

  /* env alone, without any file */
  assert_int_equal(sp_credentials_load(NULL, &c, &err), SP_OK);
  assert_false(c.file_found);
  assert_string_equal(sp_credentials_get(&c, SP_CRED_FRED), "fred-from-env");
  sp_credentials_free(&c);
}

static void test_unknown_keys(void **state) {
  (void)state;
  write_file("{\"finnhub_api_key\": \"fh-secret-1234\", \"finhub_key\": \"x\", \"polygon_key\": \"y\"}", 0600);
  sp_credentials c;
  sp_error err = {0};
  assert_int_equal(sp_credentials_load(path, &c, &err), SP_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "unknown keys 'finhub_key', 'polygon_key'"));
  assert_non_null(strstr(err.msg, path));
  assert_null(strstr(err.msg, "fh-secret-1234"));
  sp_credentials_free(&c);
}

static void test_bad_values(void **state) {
  (void)state;
  sp_credentials c;
  sp_error err = {0};
  write_file("{\n  \"fred_api_key\": \"fredsecret99\",\n  \"newsapi_key\": nope\n}", 0600);
  assert_int_equal(sp_credentials_load(path, &c, &err), SP_ERR_CONFIG);
  char where[256];
  snprintf(where, sizeof where, "%s:3:18: credentials file is not valid JSON", path);
  assert_string_equal(err.msg, where);
  sp_credentials_free(&c);

  write_file("{\"fred_api_key\": 12345}", 0600);
  assert_int_equal(sp_credentials_load(path, &c, &err), SP_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "\"fred_api_key\" must be a string"));
  sp_credentials_free(&c);

  write_file("[\"fredsecret99\"]", 0600);
  assert_int_equal(sp_credentials_load(path, &c, &err), SP_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "must hold a JSON object"));
  sp_credentials_free(&c);

  write_file("{\"fred_api_key\": \"PLACEHOLDER-fred-key-replace-me\"}", 0600);
  assert_int_equal(sp_credentials_load(path, &c, &err), SP_ERR_CONFIG);
  assert_non_null(strstr(err.msg, "placeholder"));
  sp_credentials_free(&c);
}

static void test_missing_file(void **state) {
  (void)state;
  sp_credentials c;
  sp_error err = {0};
  assert_int_equal(sp_credentials_load(path, &c, &err), SP_OK); /* path does not exist */
  assert_false(c.file_found);
  for (int i = 0; i < SP_CRED_COUNT; i++) assert_null(sp_credentials_get(&c, (sp_credential_id)i));
  assert_string_equal(c.path, path);
  sp_credentials_free(&c);
  /* a folder is not a credentials file */
  assert_int_equal(sp_credentials_load(dir, &c, &err), SP_ERR_CONFIG);
  sp_credentials_free(&c);
}

static void test_names(void **state) {
  (void)state;
  assert_string_equal(sp_credential_json_name(SP_CRED_ALPHAVANTAGE), "alpha_vantage_key");
  assert_string_equal(sp_credential_env_name(SP_CRED_FINNHUB), "STOCKPIPE_FINNHUB_KEY");
  assert_string_equal(sp_credential_provider(SP_CRED_NEWSAPI), "newsapi");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_load_and_redact, setup, teardown),
      cmocka_unit_test_setup_teardown(test_permissions_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_env_override, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unknown_keys, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_names, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
