/*
 * test_universe.c — the ticker universe CSV loader: header detection, quoting,
 * Yahoo symbol mapping, and the errors that name file and line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/universe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *write_temp(const char *text) {
  char *path = strdup("/tmp/sp_universe_XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  return path;
}

static void test_load_quoted_and_mapped(void **state) {
  (void)state;
  char *path = write_temp("\xEF\xBB\xBFSymbol,Security,GICS Sector,Founded\r\n"
                          "AAPL,Apple Inc.,Information Technology,1977\r\n"
                          "BRK.B,\"Berkshire Hathaway, Inc.\",Financials,1839\r\n"
                          "\n"
                          "BF.B,\"Brown-Forman \"\"B\"\"\",Consumer Staples,1870\n");
  sp_universe u;
  sp_error err;
  assert_int_equal(sp_universe_load(path, &u, &err), 0);
  assert_int_equal(u.count, 3);
  assert_string_equal(u.entries[1].symbol, "BRK-B");
  assert_string_equal(u.entries[1].name, "Berkshire Hathaway, Inc.");
  assert_string_equal(u.entries[2].name, "Brown-Forman \"B\"");
  assert_string_equal(u.entries[0].sector, "Information Technology");
  sp_universe_free(&u);
  unlink(path);
  free(path);
}

static void test_errors_name_file_and_line(void **state) {
  (void)state;
  struct { const char *text; const char *expect; } cases[] = {
      {"name,sector\nApple,IT\n", "no 'symbol' column"},
      {"symbol,name\nAAPL,Apple\nAAPL,Again\n", ":3: duplicate symbol AAPL"},
      {"symbol,name\nAAPL,\"unterminated\n", ":2: malformed"},
      {"symbol,name\n ,Nobody\n", ":2: empty symbol"},
      {"symbol\n", "no symbols"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *path = write_temp(cases[i].text);
    sp_universe u;
    sp_error err;
    assert_int_equal(sp_universe_load(path, &u, &err), SP_ERR_CONFIG);
    assert_non_null(strstr(err.msg, path));
    if (!strstr(err.msg, cases[i].expect)) fail_msg("case %zu: %s", i, err.msg);
    assert_int_equal(u.count, 0);
    unlink(path);
    free(path);
  }
  sp_universe u;
  sp_error err;
  assert_int_equal(sp_universe_load("/nonexistent/sp500.csv", &u, &err), SP_ERR_IO);
  assert_non_null(strstr(err.msg, "/nonexistent/sp500.csv"));
}

static void test_yahoo_symbol(void **state) {
  (void)state;
  char out[16];
  sp_universe_yahoo_symbol("brk.b", out, sizeof out);
  assert_string_equal(out, "BRK-B");
  sp_universe_yahoo_symbol("ABCDEFGHIJKLMNOPQRS", out, 4);
  assert_string_equal(out, "ABC");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_load_quoted_and_mapped),
      cmocka_unit_test(test_errors_name_file_and_line),
      cmocka_unit_test(test_yahoo_symbol),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
