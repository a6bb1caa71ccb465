/*
 * sha256.h — SHA-256 (FIPS 180-4), self-contained so identity hashing needs no
 * crypto library.  Used for news `article_id` (hash of the canonical URL) and policy
 * `event_id` (hash of provider + natural id), both stored as 64 lowercase hex digits.
 */
#ifndef STOCKPIPE_CORE_SHA256_H
#define STOCKPIPE_CORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SP_SHA256_DIGEST_LEN 32
#define SP_SHA256_HEX_LEN 64 /* plus a NUL: buffers are SP_SHA256_HEX_LEN + 1 */

typedef struct sp_sha256 {
  uint32_t state[8];
  uint64_t total_len; /* bytes hashed so far */
  uint8_t block[64];
  size_t block_len;
} sp_sha256;

/* Incremental use: init, any number of updates, final.  Cannot fail. */
void sp_sha256_init(sp_sha256 *ctx);
void sp_sha256_update(sp_sha256 *ctx, const void *data, size_t len);
void sp_sha256_final(sp_sha256 *ctx, uint8_t digest[SP_SHA256_DIGEST_LEN]);

/* One-shot: the digest of `data` as 64 lowercase hex digits plus NUL into `hex`. */
void sp_sha256_hex(const void *data, size_t len, char hex[SP_SHA256_HEX_LEN + 1]);

#endif
