/*
 * buf.h — a growable byte buffer, the one used for HTTP bodies, encoded rows, pages
 * and output files.  The buffer owns `data`; sp_buf_free releases it.  Appends grow
 * geometrically and return SP_ERR_NOMEM on allocation failure (the buffer is left
 * as it was).  `data` is always NUL-terminated past `len` once anything was
 * appended, so text can be handed to string functions directly.
 */
#ifndef STOCKPIPE_CORE_BUF_H
#define STOCKPIPE_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct sp_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
} sp_buf;

#define SP_BUF_INIT {NULL, 0, 0}

/* Make room for `extra` more bytes (plus the trailing NUL). */
int sp_buf_reserve(sp_buf *b, size_t extra);
int sp_buf_append(sp_buf *b, const void *data, size_t len);
int sp_buf_append_str(sp_buf *b, const char *s);
int sp_buf_append_byte(sp_buf *b, uint8_t byte);
int sp_buf_printf(sp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Little-endian fixed-width integers. */
int sp_buf_append_u32le(sp_buf *b, uint32_t v);
int sp_buf_append_u64le(sp_buf *b, uint64_t v);
/* Set len to 0, keeping the allocation. */
void sp_buf_reset(sp_buf *b);
void sp_buf_free(sp_buf *b);
/* Hand the bytes to the caller (who frees them) and leave the buffer empty. */
uint8_t *sp_buf_detach(sp_buf *b, size_t *len);

#endif
