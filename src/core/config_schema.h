/*
 * config_schema.h — internal: the declarative option tables behind config.h.
 *
 * One table per component kind (pipeline and its nested sections, agent, source,
 * channel, sink, provider).  A row says: the key, its value type, where it lives in
 * the component's struct (offsetof), its default (YAML text, parsed exactly like a
 * value from a file), allowed values or numeric range, which component variants it
 * applies to (the value of the table's discriminator key: a sink `type`, a source
 * `dataset`), whether it is required there, and its help text.  The loader
 * (config.c), the YAML writer and the Markdown reference (config_output.c) all
 * walk these tables; nothing else lists keys.
 */
#ifndef STOCKPIPE_CORE_CONFIG_SCHEMA_H
#define STOCKPIPE_CORE_CONFIG_SCHEMA_H

#include "core/config.h"

#include <stddef.h>

typedef enum sp_opt_type {
  SP_OPT_STRING,   /* char *                                                    */
  SP_OPT_INT,      /* int64_t within [min, max]                                 */
  SP_OPT_NUMBER,   /* double within [min, max]                                  */
  SP_OPT_BOOL,     /* bool: true / false                                        */
  SP_OPT_ENUM,     /* an enum (int-sized): the index of the value in `allowed`  */
  SP_OPT_LIST,     /* sp_strlist: elements from `allowed` when given; >= min items, no duplicates */
  SP_OPT_TICKERS,  /* sp_tickers: mag7 | sp500 | [list of symbols]              */
  SP_OPT_SYMBOLS,  /* sp_strlist of ticker symbols (>= min items)              */
  SP_OPT_SCHEDULE, /* sp_schedule (schedule.h)                                  */
  SP_OPT_DAYS,     /* int64_t days written <N>d, <N>w or <N>y, within [min, max] */
  SP_OPT_LISTEN,   /* char *: "" or host:port                                   */
  SP_OPT_SECTION   /* a nested mapping described by `section` (same struct)     */
} sp_opt_type;

enum {
  SP_OPT_REQUIRED = 1u << 0, /* must be given where it applies (no default) */
  SP_OPT_DERIVED = 1u << 1,  /* the default is computed by the loader (help text says how) */
  SP_OPT_NONEMPTY = 1u << 2, /* strings: "" is not allowed */
  SP_OPT_CONNECTION = 1u << 3 /* strings: a connection string whose password is a secret (never printed) */
};

struct sp_option_table;

typedef struct sp_option {
  const char *key;
  sp_opt_type type;
  size_t offset;                /* of the field inside the component struct */
  const char *def;              /* default as YAML text; NULL = none */
  const char *const *allowed;   /* NULL-terminated, or NULL */
  double min, max;              /* INT, NUMBER, DAYS: range; LIST/SYMBOLS: min items */
  const char *applies_to;       /* space-separated discriminator values, NULL = all */
  unsigned flags;
  const struct sp_option_table *section; /* SP_OPT_SECTION */
  const char *help;
} sp_option;

/* Most rows in one table (the loader keeps a "given" flag per row on the stack). */
#define SP_OPTION_TABLE_MAX 64

typedef struct sp_option_table {
  const char *name;             /* "pipeline", "source", "channel", ... */
  const char *discriminator;    /* key selecting applies_to ("type", "dataset"), or NULL */
  const sp_option *options;
  size_t count;
} sp_option_table;

extern const sp_option_table sp_pipeline_options;
extern const sp_option_table sp_agent_options;
extern const sp_option_table sp_source_options;
extern const sp_option_table sp_channel_options;
extern const sp_option_table sp_sink_options;
extern const sp_option_table sp_provider_options;

/* The provider module (src/sources/) behind config provider `id`: the one declaration
 * of the datasets it serves, its credential and its default HTTP settings and daily
 * limit, which are the config's defaults (`providers.<name>` overrides them).  Every
 * config provider has one (test_config checks); the pointer is static. */
const struct sp_source_provider *sp_provider_module(sp_provider_id id);

extern const char *const sp_dataset_names[];  /* NULL-terminated, in sp_dataset_id order */
extern const char *const sp_provider_names[]; /* NULL-terminated, in sp_provider_id order */

/* The built-in default configuration: SPEC §3's YAML. */
extern const char sp_config_default_yaml[];

/* Does `opt` apply where the discriminator has value `variant` (NULL = unknown)? */
bool sp_option_applies(const sp_option *opt, const char *variant);

#endif
