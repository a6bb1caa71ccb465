/*
 * array.h — growing a plain C dynamic array (a `T *items` with a `size_t cap` next to
 * its count) by doubling.  This is the one place the "if full, double the capacity
 * and realloc" step lives; callers keep their own count and error message:
 *
 *     if (SP_ARRAY_RESERVE(list->items, list->cap, list->count + 1, 64))
 *       return sp_error_set(err, SP_ERR_NOMEM, "out of memory");
 *     list->items[list->count++] = item;
 *
 * For byte buffers use core/buf.h instead.
 */
#ifndef STOCKPIPE_CORE_ARRAY_H
#define STOCKPIPE_CORE_ARRAY_H

#include <stddef.h>

/*
 * Make the array *items_ptr (the address of a `T *`, passed as void *) hold at least
 * `need` elements of `elem_size` (> 0) bytes.  When `need` <= *cap nothing happens.
 * Otherwise the capacity becomes first_cap (when *cap is 0; a first_cap of 0 counts
 * as 1) or *cap, doubled until it reaches `need`, and the array is realloc'ed to it;
 * the existing elements are kept, new slots are uninitialised.
 * Returns SP_OK, or SP_ERR_NOMEM when the allocation fails or the capacity in bytes
 * would overflow size_t; on failure *items_ptr and *cap are left untouched (the old
 * array stays valid and owned by the caller).  The caller owns and frees the array.
 * Prefer the SP_ARRAY_RESERVE macro, which passes the element size itself.
 */
int sp_array_reserve(void *items_ptr, size_t *cap, size_t elem_size, size_t need, size_t first_cap);

/* sp_array_reserve on a `T *items` lvalue and its `size_t cap` lvalue. */
#define SP_ARRAY_RESERVE(items, cap, need, first_cap) \
  sp_array_reserve(&(items), &(cap), sizeof *(items), (need), (first_cap))

#endif
