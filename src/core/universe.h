/*
 * universe.h — the ticker universe file (config/sp500.csv by default, SPEC §1: "The
 * S&P 500 constituents list ships with the project as a data file and can be
 * replaced by the user").
 *
 * Format: CSV with a header row naming at least a symbol column ("symbol" or
 * "Symbol") and optionally a company name ("name", "Security", "Name") and a sector
 * ("sector", "GICS Sector", "Sector") column, in any order; other columns are
 * ignored; RFC 4180 quoting.  Symbols are converted to Yahoo's form on load
 * (BRK.B → BRK-B) and must be unique.
 *
 * Ownership: sp_universe_load fills a caller-provided struct whose arrays and
 * strings it owns; release with sp_universe_free.
 */
#ifndef STOCKPIPE_CORE_UNIVERSE_H
#define STOCKPIPE_CORE_UNIVERSE_H

#include "stockpipe/error.h"

#include <stddef.h>

typedef struct sp_universe_entry {
  char *symbol; /* Yahoo form, e.g. "BRK-B" */
  char *name;   /* "" when the file has no name column */
  char *sector; /* "" when the file has no sector column */
} sp_universe_entry;

typedef struct sp_universe {
  sp_universe_entry *entries;
  size_t count;
} sp_universe;

/* Load `path`.  Errors (message names the file and line): SP_ERR_IO (cannot read),
 * SP_ERR_CONFIG (no header / no symbol column / empty or duplicate symbol / bad
 * quoting / no rows), SP_ERR_NOMEM.  On error *out is left empty. */
int sp_universe_load(const char *path, sp_universe *out, sp_error *err);

/* Release what sp_universe_load allocated; the struct is left empty. */
void sp_universe_free(sp_universe *u);

/* Yahoo's form of an exchange symbol: '.' and '/' become '-' ("BRK.B" → "BRK-B"),
 * letters upper-cased.  Writes at most cap-1 bytes plus NUL into out. */
void sp_universe_yahoo_symbol(const char *symbol, char *out, size_t cap);

#endif
