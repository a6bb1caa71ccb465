/*
 * test_source_shape.c — the response shape check itself (sources/shape.h) on small
 * bodies: what counts as missing (under [*] only when absent everywhere), null
 * accepted, type changes, `when` gates, IF_PRESENT fields, a wrong container type
 * reported once, and the report text cut when too long.  The providers' tables are
 * tested on their captures in test_source_<provider>.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sources/shape.h"

#include <stdio.h>
#include <string.h>

static const sp_shape_field fields[] = {
    {"a", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, NULL},
    {"b.c", SP_SHAPE_STRING, SP_SHAPE_OPTIONAL, NULL},
    {"list[*].x", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, NULL},
    {"opt", SP_SHAPE_BOOL, SP_SHAPE_IF_PRESENT, NULL},
    {"gated.y", SP_SHAPE_NUMBER, SP_SHAPE_REQUIRED, "gated"},
};
static const sp_shape_spec spec = SP_SHAPE_SPEC("test", "endpoint", fields);

static void check(const char *body, sp_shape_report *r) { sp_shape_check_body(body, strlen(body), &spec, r); }

static void test_unchanged_shapes(void **state) {
  (void)state;
  sp_shape_report r;
  /* all there; a null value is "no value", not a change; the gated field is skipped */
  check("{\"a\":1,\"b\":{\"c\":\"s\"},\"list\":[{\"x\":1},{\"x\":null}],\"opt\":true}", &r);
  assert_int_equal(r.nchanges, 0);
  assert_string_equal(r.provider, "test");
  assert_string_equal(r.endpoint, "endpoint");
  /* null parents stop the walk; x absent from one element only is not a renamed field;
   * an IF_PRESENT field may be absent; an empty gate skips its field */
  check("{\"a\":null,\"b\":null,\"list\":[{\"x\":1},{\"y\":2}],\"gated\":{}}", &r);
  assert_int_equal(r.nchanges, 0);
  assert_string_equal(r.text, "");
  /* an empty list has nothing to check; a body that is not JSON is the parser's business */
  check("{\"a\":1,\"b\":{\"c\":\"s\"},\"list\":[]}", &r);
  assert_int_equal(r.nchanges, 0);
  check("<html>", &r);
  assert_int_equal(r.nchanges, 0);
}

static void test_changes(void **state) {
  (void)state;
  sp_shape_report r;
  check("{\"b\":{\"c\":1},\"list\":[{\"y\":1},{\"y\":2}],\"opt\":\"yes\",\"gated\":{\"z\":1}}", &r);
  assert_string_equal(r.text, "missing field \"a\"; \"b.c\" is number, expected string; missing field \"list[*].x\"; "
                              "\"opt\" is string, expected boolean; missing field \"gated.y\"");
  assert_int_equal(r.nchanges, 5);
  assert_true(r.required_changed);
  /* optional and IF_PRESENT changes only: rows can still be built */
  check("{\"a\":1,\"b\":{\"d\":\"s\"},\"list\":[{\"x\":\"1\"}],\"opt\":1}", &r);
  assert_string_equal(r.text, "missing field \"b.c\"; \"list[*].x\" is string, expected number; "
                              "\"opt\" is number, expected boolean");
  assert_true(r.required_changed); /* list[*].x is required */
  check("{\"a\":1,\"b\":{\"d\":\"s\"},\"list\":[],\"opt\":1}", &r);
  assert_int_equal(r.nchanges, 2);
  assert_false(r.required_changed);
  /* a parent of the wrong type is reported once, at the parent */
  check("{\"a\":1,\"b\":[1],\"list\":{\"x\":1}}", &r);
  assert_string_equal(r.text, "\"b\" is array, expected object; \"list\" is object, expected array");
  /* the body itself of another type: one change for every field walking through it */
  check("[1,2]", &r);
  assert_string_equal(r.text, "\"(body)\" is array, expected object");
  assert_int_equal(r.nchanges, 1);
  /* a renamed parent: reported as the parent, not each field below it */
  check("{\"a\":1,\"bee\":{\"c\":\"s\"},\"list\":[]}", &r);
  assert_string_equal(r.text, "missing field \"b\"");
}

static void test_long_report_cut(void **state) {
  (void)state;
  static sp_shape_field many[40];
  static char names[40][64];
  for (int i = 0; i < 40; i++) {
    snprintf(names[i], sizeof names[i], "a_rather_long_field_name_number_%02d", i);
    many[i] = (sp_shape_field){names[i], SP_SHAPE_NUMBER, SP_SHAPE_OPTIONAL, NULL};
  }
  const sp_shape_spec big = SP_SHAPE_SPEC("test", "many", many);
  sp_shape_report r;
  sp_shape_check_body("{}", 2, &big, &r);
  assert_int_equal(r.nchanges, 40);
  assert_true(strlen(r.text) < sizeof r.text);
  assert_string_equal(r.text + strlen(r.text) - 3, "\xe2\x80\xa6"); /* "…": cut, and says so */
  assert_non_null(strstr(r.text, "missing field \"a_rather_long_field_name_number_00\"; "));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unchanged_shapes),
      cmocka_unit_test(test_changes),
      cmocka_unit_test(test_long_report_cut),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
