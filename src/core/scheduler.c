/*
 * scheduler.c — slots, market filter, jitter and due times of sources, and the
 * eventfd + timerfd wait the daemon sleeps in (see scheduler.h).
 */
#include "core/scheduler.h"

#include "core/market_calendar.h"
#include "stockpipe/schema.h"
#include "core/timeutil.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* Monday 1970-01-05 00:00 UTC: intervals count from here so weeks start on Mondays. */
#define INTERVAL_ANCHOR_US (4 * SP_US_PER_DAY)

int64_t sp_scheduler_slot_after(const sp_schedule *schedule, int64_t after_us) {
  if (schedule->kind == SP_SCHEDULE_CRON) return sp_schedule_next(schedule, after_us);
  int64_t step = schedule->interval_seconds * SP_US_PER_SEC;
  int64_t since = after_us - INTERVAL_ANCHOR_US;
  int64_t q = since / step;
  if (since % step < 0) q--; /* floor before the anchor */
  return INTERVAL_ANCHOR_US + (q + 1) * step;
}

bool sp_scheduler_market_allows(const sp_schedule *schedule, int64_t slot_us) {
  if (sp_nyse_is_open_at(slot_us)) return true;
  /* The catch-up slot: the first one at or after the latest close. */
  int64_t close = sp_nyse_last_close_at_or_before(slot_us);
  return sp_scheduler_slot_after(schedule, close - 1) == slot_us;
}

bool sp_scheduler_dataset_intraday(int dataset) {
  return dataset == SP_DS_FINANCIAL_DATA || dataset == SP_DS_STOCK_MOVEMENTS;
}

int64_t sp_scheduler_next_slot(const sp_schedule *schedule, bool intraday, int64_t after_us) {
  int64_t slot = sp_scheduler_slot_after(schedule, after_us);
  if (!intraday) return slot;
  /* A refused slot lies outside a session and after its catch-up slot, and so does
   * every slot before the next open: jump there.  The first slot at or after that
   * open is either inside its session or its catch-up slot, so this loop runs at most
   * twice; the bound only guards against a broken calendar. */
  for (int tries = 0; slot >= 0 && tries < 4; tries++) {
    if (sp_scheduler_market_allows(schedule, slot)) return slot;
    slot = sp_scheduler_slot_after(schedule, sp_nyse_next_open_after(slot) - 1);
  }
  return -1;
}

int64_t sp_scheduler_jitter_us(const char *name, int64_t max_jitter_us) {
  if (max_jitter_us <= 0) return 0;
  uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    h ^= *p;
    h *= UINT64_C(1099511628211);
  }
  /* splitmix64's finaliser: FNV's low bits barely change between similar names. */
  h ^= h >> 30;
  h *= UINT64_C(0xbf58476d1ce4e5b9);
  h ^= h >> 27;
  h *= UINT64_C(0x94d049bb133111eb);
  h ^= h >> 31;
  return (int64_t)(h % ((uint64_t)max_jitter_us + 1));
}

int64_t sp_scheduler_due_us(const sp_schedule_entry *entry, int64_t now_us) {
  if (entry->last_run_us == SP_SCHEDULER_NEVER) return now_us;
  int64_t jitter = sp_scheduler_jitter_us(entry->name, entry->max_jitter_us);
  /* A last run in the future means the clock was set back: count from now instead,
   * or the source would stay silent until the clock caught up. */
  int64_t last_run = entry->last_run_us < now_us ? entry->last_run_us : now_us;
  /* slot > last_run - jitter  <=>  slot + jitter > last_run */
  int64_t slot = sp_scheduler_next_slot(&entry->schedule, entry->intraday, last_run - jitter);
  return slot < 0 ? -1 : slot + jitter;
}

size_t sp_scheduler_next_due(const sp_schedule_entry *entries, size_t n, int64_t now_us, int64_t *due_us) {
  size_t best = n;
  *due_us = -1;
  for (size_t i = 0; i < n; i++) {
    int64_t due = sp_scheduler_due_us(&entries[i], now_us);
    if (due < 0) continue;
    if (best == n || due < *due_us) {
      best = i;
      *due_us = due;
    }
  }
  return best;
}

/* ---- waiting ---- */

int sp_wakeup_open(sp_wakeup *wakeup, sp_error *err) {
  wakeup->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wakeup->event_fd < 0) {
    wakeup->timer_fd = -1;
    return sp_error_set(err, SP_ERR_IO, "scheduler: eventfd: %s", strerror(errno));
  }
  wakeup->timer_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
  if (wakeup->timer_fd < 0) return sp_error_set(err, SP_ERR_IO, "scheduler: timerfd_create: %s", strerror(errno));
  return SP_OK;
}

void sp_wakeup_close(sp_wakeup *wakeup) {
  if (wakeup->event_fd >= 0) close(wakeup->event_fd);
  if (wakeup->timer_fd >= 0) close(wakeup->timer_fd);
  wakeup->event_fd = wakeup->timer_fd = -1;
}

void sp_wakeup_signal(sp_wakeup *wakeup) {
  int saved = errno;
  uint64_t one = 1;
  /* Fails only when the counter is saturated, and then the sleeper wakes anyway. */
  ssize_t written = write(wakeup->event_fd, &one, sizeof one);
  (void)written;
  errno = saved;
}

int sp_wakeup_sleep_until(sp_wakeup *wakeup, int64_t deadline_us, sp_error *err) {
  struct itimerspec when;
  memset(&when, 0, sizeof when); /* all zero disarms: wait for a wake only */
  if (deadline_us != INT64_MAX) {
    if (deadline_us <= sp_now_us()) return 0;
    when.it_value.tv_sec = (time_t)(deadline_us / SP_US_PER_SEC);
    when.it_value.tv_nsec = (long)(deadline_us % SP_US_PER_SEC * 1000);
  }
  if (timerfd_settime(wakeup->timer_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &when, NULL) != 0)
    return sp_error_set(err, SP_ERR_IO, "scheduler: timerfd_settime: %s", strerror(errno));
  struct pollfd fds[2] = {{.fd = wakeup->event_fd, .events = POLLIN}, {.fd = wakeup->timer_fd, .events = POLLIN}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue; /* a handler that wants us awake also wrote the eventfd */
      return sp_error_set(err, SP_ERR_IO, "scheduler: poll: %s", strerror(errno));
    }
    uint64_t count;
    if (fds[0].revents & POLLIN) {
      if (read(wakeup->event_fd, &count, sizeof count) < 0 && errno != EAGAIN)
        return sp_error_set(err, SP_ERR_IO, "scheduler: reading eventfd: %s", strerror(errno));
      return 1;
    }
    if (fds[1].revents & POLLIN) {
      /* Expired, or ECANCELED because the clock was set: either way, look again. */
      if (read(wakeup->timer_fd, &count, sizeof count) < 0 && errno != EAGAIN && errno != ECANCELED)
        return sp_error_set(err, SP_ERR_IO, "scheduler: reading timerfd: %s", strerror(errno));
      return 0;
    }
  }
}

int sp_scheduler_wait(sp_wakeup *wakeup, const sp_schedule_entry *entries, size_t n, size_t *which,
                      sp_error *err) {
  for (;;) {
    int64_t now = sp_now_us(), due;
    size_t first = sp_scheduler_next_due(entries, n, now, &due);
    if (first < n && due <= now) {
      *which = first;
      return 0;
    }
    int rc = sp_wakeup_sleep_until(wakeup, first < n ? due : INT64_MAX, err);
    if (rc != 0) return rc;
  }
}
