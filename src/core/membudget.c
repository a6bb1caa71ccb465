/*
 * membudget.c — the shared memory budget (see membudget.h): a lock-free counter.
 */
#include "core/membudget.h"

void sp_membudget_init(sp_membudget *b, size_t limit) {
  b->limit = limit ? limit : SP_MEMBUDGET_DEFAULT_LIMIT;
  atomic_init(&b->used, 0);
  atomic_init(&b->peak, 0);
}

bool sp_membudget_try_reserve(sp_membudget *b, size_t bytes) {
  return sp_membudget_try_reserve_upto(b, bytes, b ? b->limit : 0);
}

bool sp_membudget_try_reserve_upto(sp_membudget *b, size_t bytes, size_t ceiling) {
  if (!b || bytes == 0) return true;
  if (ceiling > b->limit) ceiling = b->limit;
  size_t used = atomic_load(&b->used);
  for (;;) {
    bool fits = used <= ceiling && bytes <= ceiling - used;
    if (!fits && !(used == 0 && bytes > ceiling)) return false;
    if (atomic_compare_exchange_weak(&b->used, &used, used + bytes)) break;
  }
  size_t now = used + bytes, peak = atomic_load(&b->peak);
  while (now > peak && !atomic_compare_exchange_weak(&b->peak, &peak, now)) {
  }
  return true;
}

void sp_membudget_release(sp_membudget *b, size_t bytes) {
  if (!b || bytes == 0) return;
  atomic_fetch_sub(&b->used, bytes);
}

size_t sp_membudget_used(sp_membudget *b) { return b ? atomic_load(&b->used) : 0; }

size_t sp_membudget_limit(const sp_membudget *b) { return b ? b->limit : 0; }
