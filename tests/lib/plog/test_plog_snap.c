/**
 * @file test_plog_snap.c
 * Snapshots: write -> load gives an equal state (small, empty, huge frames, every level);
 * every damaged variant (bit flip anywhere in the header and across the body, truncation,
 * trailing bytes) is refused with EBADMSG and never loads; a newer version is ENOTSUP; a
 * snapshot written by a format 1 or 2 build loads (its sessions anonymous on listener 0),
 * and this build's keeps every session's username and listener.
 */
#include "plog_test.h"

#include <isa-l/igzip_lib.h>

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

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

struct old_snap {
	uint32_t version;
	uint8_t *raw;
	size_t len, cap;
	uint64_t records;
	struct plog_state *ref; /* the frames as that version's reader decodes them */
};

static int old_frame(void *arg, const struct plog_rec *rec)
{
	struct old_snap *o = arg;
	if (o->version < 2 && rec->type == PLOG_REC_SESS_WILL)
		return 0; /* a version 1 build had no pending wills to write */
	struct plog_rec r = *rec;
	r.seq = ++o->records;
	int64_t n = plog_rec_frame_size_ver(&r, o->version);
	REQUIRE(n > 0);
	if (o->len + (size_t)n > o->cap) {
		o->cap = (o->len + (size_t)n) * 2;
		o->raw = realloc(o->raw, o->cap);
		REQUIRE(o->raw != NULL);
	}
	REQUIRE(plog_rec_encode_ver(&r, o->version, o->raw + o->len, (size_t)n) == n);
	struct plog_rec back;
	size_t fl;
	REQUIRE(plog_rec_parse_ver(o->raw + o->len, (size_t)n, o->version, &back, &fl) == 0);
	REQUIRE(plog_state_apply(o->ref, &back) == 0);
	o->len += (size_t)n;
	return 0;
}

/* A snapshot as a format @p version build wrote it (header, then one gzip member of that
 * version's frames), built here byte by byte from @p st; @p ref gets what it holds. */
static uint8_t *old_snapshot(const struct plog_state *st, uint32_t version, size_t *len,
			     struct plog_state *ref)
{
	struct old_snap o = { .version = version, .ref = ref };
	REQUIRE(plog_state_emit(st, old_frame, &o) == 0);
	size_t cap = o.len + o.len / 2 + 4096;
	uint8_t *file = malloc(PLOG_SNAP_HDR_LEN + cap);
	REQUIRE(file != NULL);
	struct isal_zstream zs;
	isal_deflate_stateless_init(&zs);
	zs.gzip_flag = IGZIP_GZIP;
	zs.next_in = o.raw;
	zs.avail_in = (uint32_t)o.len;
	zs.next_out = file + PLOG_SNAP_HDR_LEN;
	zs.avail_out = (uint32_t)cap;
	zs.end_of_stream = 1;
	REQUIRE(isal_deflate_stateless(&zs) == COMP_OK);
	size_t body = zs.total_out;
	memset(file, 0, PLOG_SNAP_HDR_LEN);
	memcpy(file, PLOG_SNAP_MAGIC, 8);
	put_le(file + 8, version, 2);
	put_le(file + 10, PLOG_SNAP_HDR_LEN, 2);
	put_le(file + 12, plog_crc32c(0, file + PLOG_SNAP_HDR_LEN, body), 4);
	put_le(file + 16, 5000, 8);
	put_le(file + 24, o.records, 8);
	put_le(file + 32, o.len, 8);
	put_le(file + 40, body, 8);
	put_le(file + 48, 1, 8);
	put_le(file + 56, plog_crc32c(0, o.raw, o.len), 4);
	put_le(file + 60, plog_crc32c(0, file, 60), 4);
	free(o.raw);
	*len = PLOG_SNAP_HDR_LEN + body;
	return file;
}

static int count_users(void *arg, const struct plog_sess *s)
{
	unsigned *n = arg;
	if (s->has_username || s->listener != 0)
		(*n)++;
	return 0;
}

/* Snapshots of older builds load: the sessions they hold have no username, listener 0. */
static void test_old_versions(void)
{
	struct plog_state *st = build(6, 3000);
	unsigned users = 0;
	plog_state_foreach(st, count_users, NULL, &users);
	CHECK(users > 10); /* the identities an old snapshot cannot hold */
	for (uint32_t v = 1; v <= 2; v++) {
		struct plog_state *ref = plog_state_new();
		size_t len;
		uint8_t *buf = old_snapshot(st, v, &len, ref);
		struct plog_state *back = plog_state_new();
		struct plog_error err;
		struct plog_snap_info info;
		CHECK_EQ(plog_snap_load_buf(buf, len, back, &info, &err), 0);
		CHECK_EQ(info.seq, 5000);
		/* Everything but the identities. */
		CHECK(plog_state_equal(back, ref));
		CHECK(!plog_state_equal(back, st));
		unsigned n = 0;
		plog_state_foreach(back, count_users, NULL, &n);
		CHECK_EQ(n, 0);
		free(buf);
		plog_state_free(back);
		plog_state_free(ref);
	}
	/* This build's snapshot of the same state keeps them. */
	const char *dir = pt_path("ident");
	REQUIRE(mkdir(dir, 0700) == 0);
	struct plog_error err;
	CHECK_EQ(plog_snap_write(dir, st, 9, 1, NULL, &err), 0);
	struct plog_state *back = NULL;
	CHECK_EQ(load_file(pt_path("ident/snapshot-00000000000000000009.tsnap"), &back, NULL), 0);
	REQUIRE(back != NULL);
	CHECK(plog_state_equal(back, st));
	unsigned n = 0;
	plog_state_foreach(back, count_users, NULL, &n);
	CHECK_EQ(n, users);
	plog_state_free(back);
	plog_state_free(st);
}

int main(void)
{
	test_roundtrip();
	test_damage();
	test_old_versions();
	return pt_done("plog-snap");
}
