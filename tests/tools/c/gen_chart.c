/*
 * gen_chart.c — writes synthetic Yahoo chart v8 responses for tests that need a long
 * stream of unique, valid bars (the crash test): for each symbol, one bar per NYSE
 * session hour (1h) or session (1d) between two dates, placed by stockpipe's own
 * market calendar so every bar passes validation.  Prices are a deterministic random
 * walk seeded by the symbol, with low <= open, close <= high.
 *
 *   gen_chart OUTDIR INTERVAL FROM_DATE TO_DATE SYMBOL...
 *
 * writes OUTDIR/chart-<SYMBOL>.json and prints every bar's key as
 * "<SYMBOL>,<INTERVAL>,<bar_time ISO>" on stdout (the produced keys).
 */
#include "core/market_calendar.h"
#include "core/timeutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t next_random(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static int write_symbol(const char *dir, const char *interval, int32_t from, int32_t to, const char *symbol) {
  char path[1024];
  snprintf(path, sizeof path, "%s/chart-%s.json", dir, symbol);
  FILE *f = fopen(path, "w");
  if (!f) {
    perror(path);
    return 1;
  }
  uint64_t seed = 1469598103934665603ull;
  for (const char *p = symbol; *p; p++) seed = (seed ^ (uint8_t)*p) * 1099511628211ull;
  double price = 20 + (double)(seed % 500);
  bool hourly = strcmp(interval, "1h") == 0;
  /* timestamps first, then the quote arrays: keep the bars in memory */
  size_t cap = 1024, n = 0;
  int64_t *times = malloc(cap * sizeof *times);
  double *ohlc = malloc(cap * 4 * sizeof *ohlc);
  if (!times || !ohlc) abort();
  for (int32_t day = from; day <= to; day++) {
    if (!sp_nyse_is_trading_day(day)) continue;
    int64_t open = sp_nyse_session_open_utc(day), close = sp_nyse_session_close_utc(day);
    for (int64_t t = open; t < close; t += hourly ? 3600 * SP_US_PER_SEC : close - open) {
      if (n == cap) {
        cap *= 2;
        times = realloc(times, cap * sizeof *times);
        ohlc = realloc(ohlc, cap * 4 * sizeof *ohlc);
        if (!times || !ohlc) abort(); /* a test tool: out of memory ends it */
      }
      double o = price, c = price * (1 + ((double)(next_random(&seed) % 2001) - 1000) / 100000.0);
      double hi = (o > c ? o : c) * 1.002, lo = (o < c ? o : c) * 0.998;
      times[n] = t;
      ohlc[4 * n] = o, ohlc[4 * n + 1] = hi, ohlc[4 * n + 2] = lo, ohlc[4 * n + 3] = c;
      n++;
      price = c;
      char iso[SP_TIMESTAMP_TEXT_MAX];
      sp_format_timestamp(t, iso);
      printf("%s,%s,%s\n", symbol, interval, iso);
    }
  }
  fprintf(f, "{\"chart\":{\"result\":[{\"meta\":{\"currency\":\"USD\",\"symbol\":\"%s\",\"exchangeName\":\"NMS\","
             "\"instrumentType\":\"EQUITY\",\"regularMarketPrice\":%.4f,\"exchangeTimezoneName\":\"America/New_York\","
             "\"dataGranularity\":\"%s\"},\"timestamp\":[",
          symbol, price, interval);
  for (size_t i = 0; i < n; i++) fprintf(f, "%s%lld", i ? "," : "", (long long)(times[i] / SP_US_PER_SEC));
  static const char *const names[] = {"open", "high", "low", "close"};
  fprintf(f, "],\"indicators\":{\"quote\":[{");
  for (int k = 0; k < 4; k++) {
    fprintf(f, "%s\"%s\":[", k ? "," : "", names[k]);
    for (size_t i = 0; i < n; i++) fprintf(f, "%s%.6f", i ? "," : "", ohlc[4 * i + k]);
    fprintf(f, "]");
  }
  fprintf(f, ",\"volume\":[");
  for (size_t i = 0; i < n; i++) fprintf(f, "%s%zu", i ? "," : "", 1000 + i);
  fprintf(f, "]}],\"adjclose\":[{\"adjclose\":[");
  for (size_t i = 0; i < n; i++) fprintf(f, "%s%.6f", i ? "," : "", ohlc[4 * i + 3]);
  fprintf(f, "]}]}}],\"error\":null}}\n");
  free(times);
  free(ohlc);
  return fclose(f) != 0;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: gen_chart OUTDIR INTERVAL FROM_DATE TO_DATE SYMBOL...\n");
    return 2;
  }
  int32_t from, to;
  if (sp_parse_date(argv[3], &from) || sp_parse_date(argv[4], &to)) {
    fprintf(stderr, "gen_chart: dates are YYYY-MM-DD\n");
    return 2;
  }
  for (int i = 5; i < argc; i++)
    if (write_symbol(argv[1], argv[2], from, to, argv[i])) return 1;
  return 0;
}
