/*
 * parquet_format.h — the numeric constants of the Parquet format (apache/parquet-format
 * parquet.thrift) that the writer and the reader share: physical types, converted
 * types, repetition, encodings, codecs, page types, and the Thrift field ids of the
 * structures we read and write.  Values are fixed by the specification.
 */
#ifndef STOCKPIPE_PARQUET_FORMAT_H
#define STOCKPIPE_PARQUET_FORMAT_H

/* Type */
enum {
  PQ_BOOLEAN = 0,
  PQ_INT32 = 1,
  PQ_INT64 = 2,
  PQ_INT96 = 3,
  PQ_FLOAT = 4,
  PQ_DOUBLE = 5,
  PQ_BYTE_ARRAY = 6,
  PQ_FIXED_LEN_BYTE_ARRAY = 7
};

/* ConvertedType (legacy) */
enum {
  PQ_CT_UTF8 = 0,
  PQ_CT_ENUM = 4,
  PQ_CT_DECIMAL = 5,
  PQ_CT_DATE = 6,
  PQ_CT_TIMESTAMP_MILLIS = 9,
  PQ_CT_TIMESTAMP_MICROS = 10,
  PQ_CT_JSON = 19
};

/* FieldRepetitionType */
enum { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 };

/* Encoding */
enum {
  PQ_ENC_PLAIN = 0,
  PQ_ENC_PLAIN_DICTIONARY = 2,
  PQ_ENC_RLE = 3,
  PQ_ENC_BIT_PACKED = 4,
  PQ_ENC_DELTA_BINARY_PACKED = 5,
  PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
  PQ_ENC_DELTA_BYTE_ARRAY = 7,
  PQ_ENC_RLE_DICTIONARY = 8,
  PQ_ENC_BYTE_STREAM_SPLIT = 9
};

/* CompressionCodec */
enum {
  PQ_CODEC_UNCOMPRESSED = 0,
  PQ_CODEC_SNAPPY = 1,
  PQ_CODEC_GZIP = 2,
  PQ_CODEC_LZO = 3,
  PQ_CODEC_BROTLI = 4,
  PQ_CODEC_LZ4 = 5,
  PQ_CODEC_ZSTD = 6,
  PQ_CODEC_LZ4_RAW = 7
};

/* PageType */
enum { PQ_PAGE_DATA = 0, PQ_PAGE_INDEX = 1, PQ_PAGE_DICTIONARY = 2, PQ_PAGE_DATA_V2 = 3 };

/* LogicalType union members */
enum { PQ_LT_STRING = 1, PQ_LT_ENUM = 4, PQ_LT_DECIMAL = 5, PQ_LT_DATE = 6, PQ_LT_TIMESTAMP = 8, PQ_LT_JSON = 12 };
/* TimeUnit union members */
enum { PQ_UNIT_MILLIS = 1, PQ_UNIT_MICROS = 2, PQ_UNIT_NANOS = 3 };

#define PQ_MAGIC "PAR1"

#endif
