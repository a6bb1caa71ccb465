/*
 * crc32c.h — CRC-32C (Castagnoli, the iSCSI/ext4/RocksDB checksum) for the file
 * channel's log records and checkpoints.  Uses the SSE4.2 crc32 instruction when
 * the CPU has it and a slicing-by-8 table otherwise; both give identical results.
 * Thread-safe (the table is built once, at first use, under pthread_once).
 */
#ifndef STOCKPIPE_CORE_CRC32C_H
#define STOCKPIPE_CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend `crc` (0 to start) with `len` bytes.  crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t sp_crc32c(uint32_t crc, const void *data, size_t len);

/* The table version, always (for tests comparing both paths). */
uint32_t sp_crc32c_portable(uint32_t crc, const void *data, size_t len);

#endif
