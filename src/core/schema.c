/*
 * schema.c — the dataset tables of SPEC §1 (see include/stockpipe/schema.h).
 *
 * Column order is the schema order used everywhere (files, query output): the
 * dataset's own columns as SPEC §1 lists them, then `provider` and `collected_at`.
 */
#include "stockpipe/schema.h"

#include <string.h>

#define REQ(n, t) {n, t, false}
#define OPT(n, t) {n, t, true}
#define COMMON REQ("provider", SP_STRING), REQ("collected_at", SP_TIMESTAMP)
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const sp_column_def financial_columns[] = {
    REQ("ticker", SP_STRING),       REQ("quote_time", SP_TIMESTAMP), REQ("price", SP_DOUBLE),
    OPT("open", SP_DOUBLE),         OPT("high", SP_DOUBLE),          OPT("low", SP_DOUBLE),
    OPT("previous_close", SP_DOUBLE), OPT("volume", SP_INT64),       OPT("market_cap", SP_INT64),
    OPT("pe_ratio", SP_DOUBLE),     OPT("eps", SP_DOUBLE),           OPT("dividend_yield", SP_DOUBLE),
    OPT("week52_high", SP_DOUBLE),  OPT("week52_low", SP_DOUBLE),    OPT("currency", SP_STRING),
    OPT("exchange", SP_STRING),     OPT("quality_flags", SP_STRING), COMMON};
static const int financial_key[] = {0, 1};

static const sp_column_def movement_columns[] = {
    REQ("ticker", SP_STRING),      REQ("interval", SP_STRING),     REQ("bar_time", SP_TIMESTAMP),
    REQ("open", SP_DOUBLE),        REQ("high", SP_DOUBLE),         REQ("low", SP_DOUBLE),
    REQ("close", SP_DOUBLE),       OPT("adj_close", SP_DOUBLE),    REQ("volume", SP_INT64),
    OPT("change", SP_DOUBLE),      OPT("change_pct", SP_DOUBLE),   OPT("sma_20", SP_DOUBLE),
    OPT("sma_50", SP_DOUBLE),      OPT("ema_12", SP_DOUBLE),       OPT("ema_26", SP_DOUBLE),
    OPT("rsi_14", SP_DOUBLE),      OPT("macd", SP_DOUBLE),         OPT("macd_signal", SP_DOUBLE),
    OPT("macd_hist", SP_DOUBLE),   OPT("bb_upper", SP_DOUBLE),     OPT("bb_middle", SP_DOUBLE),
    OPT("bb_lower", SP_DOUBLE),    OPT("atr_14", SP_DOUBLE),       OPT("high_52w", SP_DOUBLE),
    OPT("low_52w", SP_DOUBLE),     OPT("avg_volume_90d", SP_DOUBLE), OPT("quality_flags", SP_STRING),
    COMMON};
static const int movement_key[] = {0, 1, 2};

static const sp_column_def news_columns[] = {
    REQ("article_id", SP_STRING),      REQ("ticker", SP_STRING),
    REQ("published_at", SP_TIMESTAMP), REQ("headline", SP_STRING),
    OPT("summary", SP_STRING),         OPT("publisher", SP_STRING),
    REQ("url", SP_STRING),             REQ("sentiment_score", SP_DOUBLE),
    REQ("sentiment_label", SP_STRING), REQ("sentiment_subjectivity", SP_DOUBLE),
    OPT("provider_sentiment", SP_DOUBLE), COMMON};
static const int news_key[] = {0, 1};

static const sp_column_def macro_columns[] = {
    REQ("indicator", SP_STRING), REQ("series_id", SP_STRING), REQ("observation_date", SP_DATE),
    OPT("value", SP_DOUBLE),     REQ("unit", SP_STRING),      REQ("frequency", SP_STRING),
    COMMON};
/* key: (provider, series_id, observation_date); provider is column 6 */
static const int macro_key[] = {6, 1, 2};

static const sp_column_def policy_columns[] = {
    REQ("event_id", SP_STRING), REQ("event_type", SP_STRING), REQ("event_time", SP_TIMESTAMP),
    REQ("title", SP_STRING),    OPT("summary", SP_STRING),    OPT("url", SP_STRING),
    OPT("value", SP_DOUBLE),    OPT("details", SP_STRING),    COMMON};
static const int policy_key[] = {0};

static const sp_dataset_def datasets[SP_DS_COUNT] = {
    {SP_DS_FINANCIAL_DATA, "financial_data", "raw", financial_columns, COUNT(financial_columns),
     financial_key, COUNT(financial_key), 1, "snappy", 1},
    {SP_DS_STOCK_MOVEMENTS, "stock_movements", "raw", movement_columns, COUNT(movement_columns),
     movement_key, COUNT(movement_key), 2, "snappy", 1},
    {SP_DS_NEWS, "news", "raw", news_columns, COUNT(news_columns), news_key, COUNT(news_key), 2,
     "snappy", 1},
    {SP_DS_MACROECONOMIC, "macroeconomic", "context", macro_columns, COUNT(macro_columns),
     macro_key, COUNT(macro_key), 2, "zstd", 1},
    {SP_DS_POLICY, "policy", "context", policy_columns, COUNT(policy_columns), policy_key,
     COUNT(policy_key), 2, "zstd", 1},
};

const sp_dataset_def *sp_dataset_get(sp_dataset_id id) {
  return (unsigned)id < SP_DS_COUNT ? &datasets[id] : NULL;
}

const sp_dataset_def *sp_dataset_by_name(const char *name) {
  if (!name) return NULL;
  for (int i = 0; i < SP_DS_COUNT; i++)
    if (strcmp(datasets[i].name, name) == 0) return &datasets[i];
  return NULL;
}

int sp_dataset_column_index(const sp_dataset_def *ds, const char *name) {
  if (!ds || !name) return -1;
  for (int i = 0; i < ds->ncolumns; i++)
    if (strcmp(ds->columns[i].name, name) == 0) return i;
  return -1;
}

const char *sp_type_name(sp_type type) {
  switch (type) {
  case SP_BOOL: return "BOOLEAN";
  case SP_INT32: return "INT32";
  case SP_INT64: return "INT64";
  case SP_DOUBLE: return "DOUBLE";
  case SP_STRING: return "STRING";
  case SP_DATE: return "DATE";
  case SP_TIMESTAMP: return "TIMESTAMP";
  }
  return "?";
}
