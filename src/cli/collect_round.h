/*
 * collect_round.h — one collection round through the real pipeline, shared by
 * `stockpipe collect DATASET...` and `stockpipe run --once`: open the pipeline of the
 * loaded config, run every enabled source of the chosen datasets once, drain every
 * channel into its sink, print what happened, close.
 */
#ifndef STOCKPIPE_CLI_COLLECT_ROUND_H
#define STOCKPIPE_CLI_COLLECT_ROUND_H

#include "cli/options.h"

#include <stdbool.h>

/* Run one round of the sources whose dataset bit is set in `datasets`
 * (1u << sp_dataset_id), with `tickers` (may be NULL) replacing the ticker lists.
 * SIGINT/SIGTERM stop it early (what was put is still drained).  Returns an exit code:
 * SP_EXIT_OK when every enabled source succeeded, SP_EXIT_FAILURE when any failed
 * (the others' rows are stored) or a channel could not be drained, SP_EXIT_USAGE
 * when nothing matched.  A writer agent's Kafka channels (no source puts into them)
 * are drained up to the topic's end offsets seen when the drain starts, so a
 * writer-only config runs with no source at all. */
int sp_cli_collect_round(sp_cli_context *ctx, unsigned datasets, const sp_strlist *tickers);

/* Install SIGINT/SIGTERM handlers that raise the returned flag. */
const volatile bool *sp_cli_install_stop_handlers(void);

/* Install `handler` for signal `sig` (no flags, nothing masked), as the above does for
 * its signals and `run` for its own. */
void sp_cli_handle_signal(int sig, void (*handler)(int));

#endif
