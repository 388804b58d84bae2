/**
 * @file test_plog_snap.c
 * Snapshots: write -> load gives an equal state (small, empty, huge frames, every level);
 * every damaged variant (bit flip anywhere in the header and across the body, truncation,
 * trailing bytes) is refused with EBADMSG and never loads; a newer version is ENOTSUP.
 */
#include "plog_test.h"

#include "plog/plog_snap.h"
#include "plog_gen.h"

static int load_file(const char *path, struct plog_state **out, struct plog_snap_info *info)
{
	struct plog_state *st = plog_state_new();
	struct plog_error err;
	int rc = plog_snap_load(path, st, info, &err);
	if (rc != 0 || out == NULL)
		plog_state_free(st);
	else
		*out = st;
	return rc;
}

static int load_buf(const uint8_t *buf, size_t len)
{
	struct plog_state *st = plog_state_new();
	struct plog_error err;
	int rc = plog_snap_load_buf(buf, len, st, NULL, &err);
	plog_state_free(st);
	return rc;
}

static struct plog_state *build(uint64_t seed, int n)
{
	struct plog_gen g;
	REQUIRE(plog_gen_init(&g, seed, 200, 48) == 0);
	struct plog_state *st = plog_state_new();
	for (int i = 0; i < n; i++) {
		struct plog_rec r;
		plog_gen_next(&g, &r);
		REQUIRE(plog_state_apply(st, &r) == 0);
	}
	plog_gen_free(&g);
	return st;
}

static void test_roundtrip(void)
{
	const char *dir = pt_tmpdir();
	struct plog_state *st = build(4, 20000);
	struct plog_snap_info wi, li;
	struct plog_error err;
	for (int level = 0; level <= 3; level++) {
		CHECK_EQ(plog_snap_write(dir, st, 1234 + (uint64_t)level, level, &wi, &err), 0);
		char p[1024];
		plog_snap_path(p, sizeof(p), dir, 1234 + (uint64_t)level);
		struct stat sb;
		CHECK_EQ(stat(p, &sb), 0);
		CHECK_EQ(wi.file_bytes, sb.st_size);
		CHECK(wi.records > 1000);
		CHECK(wi.raw_bytes > wi.file_bytes); /* it compresses */
		struct plog_state *back = NULL;
		CHECK_EQ(load_file(p, &back, &li), 0);
		REQUIRE(back != NULL);
		CHECK(plog_state_equal(st, back));
		CHECK_EQ(li.seq, 1234 + (uint64_t)level);
		CHECK_EQ(li.records, wi.records);
		CHECK_EQ(li.raw_bytes, wi.raw_bytes);
		CHECK_EQ(li.created_ms, wi.created_ms);
		plog_state_free(back);
	}
	CHECK_EQ(pt_count(dir, ".tmp"), 0);
	CHECK_EQ(plog_snap_write(dir, st, 1, 4, NULL, &err), -EINVAL);
	plog_state_free(st);

	/* Empty state. */
	st = plog_state_new();
	CHECK_EQ(plog_snap_write(dir, st, 7, 1, &wi, &err), 0);
	CHECK_EQ(wi.records, 0);
	struct plog_state *back = NULL;
	CHECK_EQ(load_file(pt_path("snapshot-00000000000000000007.tsnap"), &back, NULL), 0);
	CHECK(back != NULL && plog_state_equal(st, back));
	plog_state_free(back);

	/* Frames bigger than the writer's chunk and the loader's window. */
	size_t big = 3u << 20;
	uint8_t *payload = malloc(big);
	REQUIRE(payload != NULL);
	for (size_t i = 0; i < big; i++)
		payload[i] = (uint8_t)(i * 2654435761u >> 13);
	struct plog_rec r = { .type = PLOG_REC_RETAIN_SET };
	r.u.ret.topic = (struct plog_bytes){ (const uint8_t *)"huge", 4 };
	r.u.ret.payload = (struct plog_bytes){ payload, (uint32_t)big };
	CHECK_EQ(plog_state_apply(st, &r), 0);
	r.u.ret.topic = (struct plog_bytes){ (const uint8_t *)"small", 5 };
	r.u.ret.payload = (struct plog_bytes){ payload, 10 };
	CHECK_EQ(plog_state_apply(st, &r), 0);
	CHECK_EQ(plog_snap_write(dir, st, 8, 1, &wi, &err), 0);
	back = NULL;
	CHECK_EQ(load_file(pt_path("snapshot-00000000000000000008.tsnap"), &back, NULL), 0);
	CHECK(back != NULL && plog_state_equal(st, back));
	plog_state_free(back);
	free(payload);
	plog_state_free(st);
}

static void test_damage(void)
{
	const char *dir = pt_path("dmg");
	REQUIRE(mkdir(dir, 0700) == 0);
	struct plog_state *st = build(5, 3000);
	struct plog_error err;
	CHECK_EQ(plog_snap_write(dir, st, 99, 1, NULL, &err), 0);
	plog_state_free(st);
	size_t len;
	uint8_t *buf = pt_read(pt_path("dmg/snapshot-00000000000000000099.tsnap"), &len);
	REQUIRE(buf != NULL);
	CHECK_EQ(load_buf(buf, len), 0);
	/* Every header byte, then ~400 positions across the body, then the gzip trailer. */
	int tried = 0, refused = 0;
	for (size_t off = 0; off < len; off += off < 64 ? 1 : (off + 8 >= len ? 1 : len / 400 + 1)) {
		for (int bit = 0; bit < 8; bit += 3) {
			buf[off] ^= (uint8_t)(1u << bit);
			int rc = load_buf(buf, len);
			buf[off] ^= (uint8_t)(1u << bit);
			tried++;
			if (rc == -EBADMSG)
				refused++;
			else if (rc != -ENOTSUP) /* a flip in the version field of a good-CRC */
				fprintf(stderr, "flip at %zu bit %d: rc %d\n", off, bit, rc);
		}
	}
	CHECK(tried > 300);
	CHECK_EQ(refused, tried);
	/* Truncations. */
	size_t cuts[] = { 0, 10, 63, 64, 65, len / 2, len - 8, len - 1 };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		CHECK_EQ(load_buf(buf, cuts[i]), -EBADMSG);
	/* Trailing bytes: the header's body length no longer matches. */
	uint8_t *longer = malloc(len + 5);
	memcpy(longer, buf, len);
	memset(longer + len, 0, 5);
	CHECK_EQ(load_buf(longer, len + 5), -EBADMSG);
	free(longer);
	/* A newer format version with a valid header CRC: not damage, "upgrade". */
	buf[8] = PLOG_SNAP_VERSION + 1;
	uint32_t crc = plog_crc32c(0, buf, 60);
	for (int i = 0; i < 4; i++)
		buf[60 + i] = (uint8_t)(crc >> (8 * i));
	CHECK_EQ(load_buf(buf, len), -ENOTSUP);
	free(buf);
	CHECK_EQ(load_file(pt_path("dmg/absent.tsnap"), NULL, NULL), -ENOENT);
}

int main(void)
{
	test_roundtrip();
	test_damage();
	return pt_done("plog-snap");
}
