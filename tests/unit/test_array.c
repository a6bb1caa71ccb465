/*
 * test_array.c — sp_array_reserve / SP_ARRAY_RESERVE (core/array.h): growth from an
 * empty array to first_cap, doubling from an existing capacity, a `need` far above
 * twice the capacity, contents kept across growth, and refusal of sizes whose byte
 * count overflows size_t, leaving the array and its capacity untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/array.h"
#include "stockpipe/error.h"

#include <stdlib.h>

static void test_grow_from_empty(void **state) {
  (void)state;
  int *items = NULL;
  size_t cap = 0;
  assert_int_equal(SP_ARRAY_RESERVE(items, cap, 1, 16), SP_OK);
  assert_non_null(items);
  assert_int_equal(cap, 16);
  for (int i = 0; i < 16; i++) items[i] = i; /* all 16 slots are writable (ASan checks) */
  /* a need within the capacity changes nothing */
  int *before = items;
  assert_int_equal(SP_ARRAY_RESERVE(items, cap, 16, 16), SP_OK);
  assert_ptr_equal(items, before);
  assert_int_equal(cap, 16);
  assert_int_equal(SP_ARRAY_RESERVE(items, cap, 0, 16), SP_OK);
  assert_int_equal(cap, 16);
  free(items);

  /* a first_cap of 0 counts as 1 */
  double *d = NULL;
  size_t dcap = 0;
  assert_int_equal(SP_ARRAY_RESERVE(d, dcap, 1, 0), SP_OK);
  assert_int_equal(dcap, 1);
  d[0] = 1.5;
  free(d);
}

static void test_doubling_keeps_contents(void **state) {
  (void)state;
  uint64_t *items = NULL;
  size_t cap = 0, n = 0;
  size_t caps_seen[8], ncaps = 0;
  for (uint64_t v = 0; v < 100; v++) {
    size_t old = cap;
    assert_int_equal(SP_ARRAY_RESERVE(items, cap, n + 1, 4), SP_OK);
    if (cap != old) caps_seen[ncaps++] = cap;
    items[n++] = v * 7;
  }
  /* 4, then doubling: 8, 16, 32, 64, 128 */
  assert_int_equal(ncaps, 6);
  for (size_t i = 0; i < ncaps; i++) assert_int_equal(caps_seen[i], (size_t)4 << i);
  for (uint64_t v = 0; v < 100; v++) assert_int_equal(items[v], v * 7);
  free(items);
}

static void test_need_far_above_double(void **state) {
  (void)state;
  char *items = NULL;
  size_t cap = 0;
  /* from empty: first_cap 8 doubled until >= 1000 */
  assert_int_equal(SP_ARRAY_RESERVE(items, cap, 1000, 8), SP_OK);
  assert_int_equal(cap, 1024);
  items[999] = 'x';
  items[0] = 'a';
  /* from 1024: doubled repeatedly to >= 100000, not just once */
  assert_int_equal(SP_ARRAY_RESERVE(items, cap, 100000, 8), SP_OK);
  assert_int_equal(cap, 131072);
  assert_int_equal(items[0], 'a');
  assert_int_equal(items[999], 'x');
  items[99999] = 'y';
  free(items);
}

static void test_overflow_refused_untouched(void **state) {
  (void)state;
  uint32_t *items = NULL;
  size_t cap = 0;
  assert_int_equal(SP_ARRAY_RESERVE(items, cap, 3, 4), SP_OK);
  items[0] = 11;
  items[1] = 22;
  uint32_t *before = items;

  /* need * sizeof(uint32_t) overflows size_t although need itself fits */
  assert_int_equal(SP_ARRAY_RESERVE(items, cap, SIZE_MAX / 2, 4), SP_ERR_NOMEM);
  assert_ptr_equal(items, before);
  assert_int_equal(cap, 4);
  /* the largest need: doubling cannot reach it without overflowing */
  assert_int_equal(SP_ARRAY_RESERVE(items, cap, SIZE_MAX, 4), SP_ERR_NOMEM);
  assert_ptr_equal(items, before);
  assert_int_equal(cap, 4);
  /* a capacity whose double overflows */
  size_t huge = SIZE_MAX / 2 + 1;
  assert_int_equal(sp_array_reserve(&items, &huge, sizeof *items, huge + 1, 4), SP_ERR_NOMEM);
  assert_ptr_equal(items, before);
  assert_int_equal(huge, SIZE_MAX / 2 + 1);
  /* from empty, too */
  uint32_t *none = NULL;
  size_t none_cap = 0;
  assert_int_equal(SP_ARRAY_RESERVE(none, none_cap, SIZE_MAX / sizeof *none + 1, 4), SP_ERR_NOMEM);
  assert_null(none);
  assert_int_equal(none_cap, 0);

  /* the array is still usable afterwards */
  assert_int_equal(items[0], 11);
  assert_int_equal(items[1], 22);
  assert_int_equal(SP_ARRAY_RESERVE(items, cap, 5, 4), SP_OK);
  assert_int_equal(cap, 8);
  assert_int_equal(items[1], 22);
  free(items);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grow_from_empty),
      cmocka_unit_test(test_doubling_keeps_contents),
      cmocka_unit_test(test_need_far_above_double),
      cmocka_unit_test(test_overflow_refused_untouched),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
