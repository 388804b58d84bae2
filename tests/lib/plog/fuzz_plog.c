/**
 * @file fuzz_plog.c
 * libFuzzer target for everything plog reads from disk. The first input byte picks the
 * reader, the rest is the file:
 *   0: a log segment -> plog_log_scan_buf(); each record accepted must re-encode (in the
 *      segment's format version) to exactly the bytes it was decoded from, and is applied
 *      to a replica;
 *   1: a snapshot -> plog_snap_load_buf(); a loaded state must survive emit -> apply equal;
 *   2: raw frames back to back -> plog_rec_parse() until the first refusal;
 *   3: as 2, but each frame's CRC is recomputed first, so that mutations reach the payload
 *      field checks behind the CRC instead of dying at it.
 * Any crash, sanitizer report or abort() is a finding. Seeds: corpus/, made by
 * plog_gen_corpus.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plog/plog_log.h"
#include "plog/plog_snap.h"
#include "plog/plog_state.h"

struct fz {
	const uint8_t *buf;
	size_t off;
	struct plog_state *st;
	uint32_t version; /* of the segment, from its header (read once the scan accepted it) */
};

static int fz_rec(void *arg, const struct plog_rec *rec)
{
	struct fz *f = arg;
	if (f->version == 0)
		f->version = (uint32_t)f->buf[8] | (uint32_t)f->buf[9] << 8 |
			     (uint32_t)f->buf[10] << 16 | (uint32_t)f->buf[11] << 24;
	int64_t n = plog_rec_frame_size_ver(rec, f->version);
	if (n < 0)
		abort(); /* a decoded record must be encodable */
	uint8_t *out = malloc((size_t)n);
	if (out == NULL)
		return -12;
	if (plog_rec_encode_ver(rec, f->version, out, (size_t)n) != n ||
	    memcmp(out, f->buf + f->off, (size_t)n) != 0)
		abort(); /* decode then encode must be the identity */
	free(out);
	f->off += (size_t)n;
	return plog_state_apply(f->st, rec);
}

static int fz_apply(void *arg, const struct plog_rec *rec)
{
	return plog_state_apply(arg, rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0] % 4;
	data++;
	size--;
	struct plog_state *st = plog_state_new();
	if (st == NULL)
		return 0;
	if (mode == 0) {
		struct fz f = { data, PLOG_LOG_HDR_LEN, st, 0 };
		struct plog_scan sc;
		if (plog_log_scan_buf(data, size, fz_rec, &f, &sc) == 0) {
			if (sc.valid_end > sc.file_len || (sc.stop == PLOG_SCAN_END && sc.valid_end != size))
				abort();
			if (sc.records > 0 && f.off != sc.valid_end)
				abort();
		}
	} else if (mode == 1) {
		struct plog_error err;
		if (plog_snap_load_buf(data, size, st, NULL, &err) == 0) {
			struct plog_state *copy = plog_state_new();
			if (copy != NULL) {
				if (plog_state_emit(st, fz_apply, copy) == 0 && !plog_state_equal(st, copy))
					abort();
				plog_state_free(copy);
			}
		}
	} else {
		uint8_t *copy = NULL;
		if (mode == 3 && (copy = malloc(size + 1)) != NULL) {
			memcpy(copy, data, size);
			for (size_t off = 0; off + PLOG_REC_OVERHEAD <= size;) {
				uint32_t plen = (uint32_t)copy[off] | (uint32_t)copy[off + 1] << 8 |
						(uint32_t)copy[off + 2] << 16 | (uint32_t)copy[off + 3] << 24;
				if (plen > size - off - PLOG_REC_OVERHEAD)
					break;
				uint32_t crc = plog_crc32c(0, copy + off, PLOG_REC_HDR_LEN + plen);
				for (int i = 0; i < 4; i++)
					copy[off + PLOG_REC_HDR_LEN + plen + i] = (uint8_t)(crc >> (8 * i));
				off += PLOG_REC_OVERHEAD + plen;
			}
			data = copy;
		}
		size_t off = 0;
		for (;;) {
			struct plog_rec rec;
			size_t flen;
			if (plog_rec_parse(data + off, size - off, &rec, &flen) != 0)
				break;
			if (flen > size - off)
				abort();
			plog_state_apply(st, &rec);
			off += flen;
		}
		free(copy);
	}
	plog_state_free(st);
	return 0;
}
