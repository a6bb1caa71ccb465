/*
 * module.h — optional parts of stockpipe built as shared modules and loaded only when
 * a configuration uses them, in the manner of Fluent Bit's plugins.
 *
 * The PostgreSQL sink, the Kafka sink and channel, and the MongoDB sink link client
 * libraries (libpq, librdkafka, libmongoc with libbson, libmongocrypt and the Cyrus SASL
 * plugins) whose code, relocations and constructors (libmongoc initialises OpenSSL,
 * SASL and a shared-memory segment as soon as it is loaded) cost every stockpipe
 * process memory and start-up time.  They are built as
 *
 *     libstockpipe-sink-postgres.so   sp_sink_postgres_open
 *     libstockpipe-kafka.so           sp_sink_kafka_open, sp_channel_kafka_open
 *     libstockpipe-sink-mongo.so      sp_sink_mongo_open
 *
 * next to the `stockpipe` program in the build tree and into PREFIX/lib/stockpipe by
 * `make install`.  A module calls the core through the program's exported symbols
 * (the program is linked with --export-dynamic), so it holds no copy of the core.
 *
 * Where a module is looked for, in order:
 *   1. $STOCKPIPE_MODULE_DIR — when set, the only place searched;
 *   2. <folder of the running program>/../lib/stockpipe (the installed layout);
 *   3. the folder of the running program itself (the build tree).
 * Modules stay loaded until the process exits.
 */
#ifndef STOCKPIPE_CORE_MODULE_H
#define STOCKPIPE_CORE_MODULE_H

#include "stockpipe/error.h"

/* The address of `symbol` in the module `libstockpipe-<module>.so`, loading the module
 * on first use (thread-safe).  Returns 0 and *address, or SP_ERR_UNSUPPORTED when the
 * module is in none of the folders (the message names the file and every folder
 * tried), cannot be loaded (the message quotes dlerror(): say a missing libpq.so.5)
 * or lacks the symbol.  Callers cast *address to the function's type (its header's
 * declaration) and prefix the message with what needed the module. */
int sp_module_symbol(const char *module, const char *symbol, void **address, sp_error *err);

#endif
