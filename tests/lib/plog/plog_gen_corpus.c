/**
 * @file plog_gen_corpus.c
 * Writes the seed corpus of fuzz_plog into the directory given as argument (the committed
 * tests/lib/plog/corpus/ was made this way):
 *   ninja -C build plog_gen_corpus && build/tests/lib/plog/plog_gen_corpus tests/lib/plog/corpus
 * Seeds: a segment with one record of every type, a mixed-stream segment, the same with a
 * torn tail, a bit flip and zeros; a snapshot of a small state and an empty one; raw frames.
 * The `*-v2` seeds in corpus/ were written by the format version 2 build (before the
 * username and listener of sess_create) and are kept, not regenerated: the readers must
 * go on accepting them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plog/plog_fs.h"
#include "plog/plog_log.h"
#include "plog/plog_snap.h"
#include "plog_gen.h"

static const char *outdir;

static void put(const char *name, uint8_t mode, const uint8_t *buf, size_t len)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", outdir, name);
	FILE *f = fopen(p, "wb");
	if (f == NULL || fwrite(&mode, 1, 1, f) != 1 || fwrite(buf, 1, len, f) != len) {
		perror(p);
		exit(1);
	}
	fclose(f);
}

/* A segment of the given records; returns its length. */
static size_t segment(uint8_t *buf, size_t cap, struct plog_gen *g, int n, bool every_type)
{
	plog_log_header(buf, 1);
	size_t off = PLOG_LOG_HDR_LEN;
	for (int i = 0; i < n; i++) {
		struct plog_rec r;
		if (every_type)
			plog_gen_example(g, (enum plog_rec_type)(1 + i % (PLOG_REC_TYPE_END - 1)), &r);
		else
			plog_gen_next(g, &r);
		r.seq = (uint64_t)i + 1;
		int64_t k = plog_rec_encode(&r, buf + off, cap - off);
		if (k < 0)
			exit(1);
		off += (size_t)k;
	}
	return off;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	mkdir(outdir, 0755);
	static uint8_t buf[1 << 20];
	struct plog_gen g;
	plog_gen_init(&g, 7, 8, 24);

	size_t n = segment(buf, sizeof(buf), &g, PLOG_REC_TYPE_END - 1, true);
	put("log-every-type", 0, buf, n);
	put("frames-every-type", 2, buf + PLOG_LOG_HDR_LEN, n - PLOG_LOG_HDR_LEN);
	put("frames-crcfix-every-type", 3, buf + PLOG_LOG_HDR_LEN, n - PLOG_LOG_HDR_LEN);
	n = segment(buf, sizeof(buf), &g, 60, false);
	put("log-mixed", 0, buf, n);
	put("log-torn", 0, buf, n - 7);
	buf[n / 2] ^= 0x40;
	put("log-bitflip", 0, buf, n);
	buf[n / 2] ^= 0x40;
	memset(buf + n, 0, 64);
	put("log-zeros", 0, buf, n + 64);
	put("log-header-only", 0, buf, PLOG_LOG_HDR_LEN);

	/* Snapshots go through the real writer in a scratch dir. */
	char tmpl[] = "/tmp/plog-corpus-XXXXXX";
	if (mkdtemp(tmpl) == NULL)
		return 1;
	struct plog_state *st = plog_state_new();
	for (int i = 0; i < 80; i++) {
		struct plog_rec r;
		plog_gen_next(&g, &r);
		plog_state_apply(st, &r);
	}
	struct plog_error err;
	const char *names[] = { "snap-small", "snap-empty" };
	for (int k = 0; k < 2; k++) {
		if (k == 1) {
			plog_state_free(st);
			st = plog_state_new();
		}
		if (plog_snap_write(tmpl, st, 5 + (uint64_t)k, 1, NULL, &err) != 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		char p[4200];
		plog_snap_path(p, sizeof(p), tmpl, 5 + (uint64_t)k);
		uint8_t *sb;
		size_t sl;
		if (plog_fs_read_file(p, &sb, &sl) != 0)
			return 1;
		put(names[k], 1, sb, sl);
		free(sb);
		unlink(p);
	}
	plog_state_free(st);
	rmdir(tmpl);
	plog_gen_free(&g);
	return 0;
}
