/*
 * array.c — growing dynamic arrays by doubling (see array.h).
 */
#include "core/array.h"

#include "stockpipe/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int sp_array_reserve(void *items_ptr, size_t *cap, size_t elem_size, size_t need, size_t first_cap) {
  if (need <= *cap) return SP_OK;
  size_t ncap = first_cap ? first_cap : 1;
  if (*cap) {
    if (*cap > SIZE_MAX / 2) return SP_ERR_NOMEM;
    ncap = *cap * 2;
  }
  while (ncap < need) {
    if (ncap > SIZE_MAX / 2) return SP_ERR_NOMEM;
    ncap *= 2;
  }
  if (ncap > SIZE_MAX / elem_size) return SP_ERR_NOMEM;
  /* items_ptr points at a `T *`; memcpy reads and writes it without type punning. */
  void *items;
  memcpy(&items, items_ptr, sizeof items);
  void *grown = realloc(items, ncap * elem_size);
  if (!grown) return SP_ERR_NOMEM;
  memcpy(items_ptr, &grown, sizeof grown);
  *cap = ncap;
  return SP_OK;
}
