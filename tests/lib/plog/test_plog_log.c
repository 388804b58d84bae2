/**
 * @file test_plog_log.c
 * The log writer and scanner: append/sync/durable seq, the group commit policy, rotation and
 * cut, resuming after a reopen, refusing a damaged tail, and the scanner's verdicts on torn
 * headers, foreign files, newer versions and out-of-order sequence numbers.
 */
#include "plog_test.h"

#include "plog/plog_fs.h"
#include "plog/plog_log.h"
#include "plog_gen.h"

struct collect {
	uint64_t n;
	uint64_t first, last;
	uint32_t crc; /* over the frames as re-encoded */
};

static int collect_cb(void *arg, const struct plog_rec *rec)
{
	struct collect *c = arg;
	uint8_t buf[8192];
	int64_t n = plog_rec_encode(rec, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	c->crc = plog_crc32c(c->crc, buf, (size_t)n);
	if (c->n == 0)
		c->first = rec->seq;
	c->last = rec->seq;
	c->n++;
	return 0;
}

static void test_policy(void)
{
	struct plog_commit_policy p = { .max_delay_ns = 1000, .max_bytes = 100 };
	CHECK(!plog_commit_due(&p, 5000, 0, 0));     /* nothing pending */
	CHECK(!plog_commit_due(&p, 1500, 50, 1000)); /* young and small */
	CHECK(plog_commit_due(&p, 2000, 50, 1000));  /* old enough */
	CHECK(plog_commit_due(&p, 1001, 100, 1000)); /* big enough */
	struct plog_commit_policy every = { .max_delay_ns = 0, .max_bytes = 0 };
	CHECK(plog_commit_due(&every, 7, 1, 7));
	struct plog_commit_policy size_only = { .max_delay_ns = UINT64_MAX, .max_bytes = 10 };
	CHECK(!plog_commit_due(&size_only, UINT64_MAX - 1, 9, 0));
	CHECK(plog_commit_due(&size_only, 0, 10, 0));
}

static void test_append_sync_scan(struct plog_gen *g)
{
	const char *dir = pt_path("basic");
	REQUIRE(mkdir(dir, 0700) == 0);
	struct plog_log_opts o = { .commit = { .max_delay_ns = 1000, .max_bytes = 1 << 30 } };
	struct plog_error err;
	struct plog_log *log = plog_log_open(dir, &o, 1, &err);
	REQUIRE(log != NULL);
	CHECK_EQ(plog_log_last_seq(log), 0);
	CHECK_EQ(plog_log_sync_deadline(log), UINT64_MAX);
	struct collect want = { 0 };
	for (int i = 0; i < 300; i++) {
		struct plog_rec r;
		plog_gen_next(g, &r);
		CHECK_EQ(plog_log_append(log, &r, 5000 + (uint64_t)i), i + 1);
		CHECK_EQ(r.seq, i + 1);
		collect_cb(&want, &r);
	}
	CHECK_EQ(plog_log_durable_seq(log), 0);
	CHECK(plog_log_pending_bytes(log) > 0);
	CHECK_EQ(plog_log_sync_deadline(log), 6000);
	CHECK(!plog_log_sync_due(log, 5999));
	CHECK(plog_log_sync_due(log, 6000));
	CHECK_EQ(plog_log_sync(log), 0);
	CHECK_EQ(plog_log_durable_seq(log), 300);
	CHECK_EQ(plog_log_pending_bytes(log), 0);
	CHECK(!plog_log_sync_due(log, 1u << 30));
	/* An invalid record is refused and consumes no sequence number. */
	struct plog_rec bad;
	plog_gen_example(g, PLOG_REC_RETAIN_SET, &bad);
	bad.u.ret.qos = 9;
	CHECK_EQ(plog_log_append(log, &bad, 0), -EINVAL);
	CHECK_EQ(plog_log_last_seq(log), 300);
	CHECK_EQ(plog_log_close(log), 0);

	struct plog_scan sc;
	struct collect got = { 0 };
	CHECK_EQ(plog_log_scan_file(pt_path("basic/log-00000000000000000001.tlog"), collect_cb,
				    &got, &sc),
		 0);
	CHECK_EQ(sc.stop, PLOG_SCAN_END);
	CHECK_EQ(sc.records, 300);
	CHECK_EQ(sc.base_seq, 1);
	CHECK_EQ(sc.last_seq, 300);
	CHECK_EQ(sc.valid_end, sc.file_len);
	CHECK_EQ(got.n, 300);
	CHECK_EQ(got.crc, want.crc);

	/* Reopen at the next seq: continues in the same file. */
	log = plog_log_open(dir, &o, 301, &err);
	REQUIRE(log != NULL);
	struct plog_rec r;
	plog_gen_next(g, &r);
	CHECK_EQ(plog_log_append(log, &r, 0), 301);
	CHECK_EQ(plog_log_close(log), 0);
	CHECK_EQ(pt_count(dir, ".tlog"), 1);
	CHECK_EQ(plog_log_scan_file(pt_path("basic/log-00000000000000000001.tlog"), NULL, NULL, &sc),
		 0);
	CHECK_EQ(sc.records, 301);
	/* Reopening behind the log would reuse numbers: refused. */
	CHECK(plog_log_open(dir, &o, 200, &err) == NULL);
	CHECK_EQ(err.code, EBADMSG);
	/* Ahead of the log (a snapshot covers more): a new segment starts there. */
	log = plog_log_open(dir, &o, 500, &err);
	REQUIRE(log != NULL);
	CHECK_EQ(plog_log_close(log), 0);
	CHECK_EQ(pt_count(dir, "log-00000000000000000500.tlog"), 1);
}

static void test_rotate_cut(struct plog_gen *g)
{
	const char *dir = pt_path("rot");
	REQUIRE(mkdir(dir, 0700) == 0);
	struct plog_log_opts o = { .segment_bytes = 4096, .buffer_bytes = 1024 };
	struct plog_error err;
	struct plog_log *log = plog_log_open(dir, &o, 1, &err);
	REQUIRE(log != NULL);
	for (int i = 0; i < 400; i++) {
		struct plog_rec r;
		plog_gen_next(g, &r);
		CHECK(plog_log_append(log, &r, 0) > 0);
	}
	CHECK_EQ(plog_log_sync(log), 0);
	struct plog_fs_entry *segs;
	int n = plog_fs_list(dir, "log-", ".tlog", &segs);
	CHECK(n > 3);
	/* Segments are contiguous and no bigger than the limit (no record exceeds it here). */
	uint64_t next = 1;
	for (int i = 0; i < n; i++) {
		char p[1024];
		snprintf(p, sizeof(p), "%s/%s", dir, segs[i].name);
		struct plog_scan sc;
		CHECK_EQ(plog_log_scan_file(p, NULL, NULL, &sc), 0);
		CHECK_EQ(sc.stop, PLOG_SCAN_END);
		CHECK_EQ(sc.base_seq, next);
		CHECK_EQ(segs[i].seq, next);
		CHECK(sc.file_len <= 4096);
		next = sc.last_seq + 1;
	}
	CHECK_EQ(next, 401);
	/* Cut at a seq inside segment 2: only segment 0 and 1 whose records are all <= go. */
	uint64_t cut = segs[2].seq; /* last record of segment 1 is segs[2].seq - 1 */
	CHECK_EQ(plog_log_cut(log, cut - 1), 2);
	CHECK_EQ(pt_count(dir, ".tlog"), n - 2);
	/* Cutting everything keeps the current segment. */
	CHECK_EQ(plog_log_cut(log, UINT64_MAX - 1), n - 3);
	CHECK_EQ(pt_count(dir, ".tlog"), 1);
	/* Rotate starts a fresh segment; rotating an empty one does nothing. */
	CHECK_EQ(plog_log_rotate(log), 0);
	CHECK_EQ(pt_count(dir, "log-00000000000000000401.tlog"), 1);
	CHECK_EQ(plog_log_rotate(log), 0);
	CHECK_EQ(pt_count(dir, ".tlog"), 2);
	free(segs);
	CHECK_EQ(plog_log_close(log), 0);
}

static void test_damage_refused(struct plog_gen *g)
{
	const char *dir = pt_path("dmg");
	REQUIRE(mkdir(dir, 0700) == 0);
	struct plog_error err;
	struct plog_log *log = plog_log_open(dir, NULL, 1, &err);
	REQUIRE(log != NULL);
	for (int i = 0; i < 10; i++) {
		struct plog_rec r;
		plog_gen_next(g, &r);
		plog_log_append(log, &r, 0);
	}
	CHECK_EQ(plog_log_close(log), 0);
	const char *seg = pt_path("dmg/log-00000000000000000001.tlog");
	size_t len;
	uint8_t *buf = pt_read(seg, &len);
	REQUIRE(buf != NULL);
	pt_write(seg, buf, len - 3);
	CHECK(plog_log_open(dir, NULL, 11, &err) == NULL);
	CHECK_EQ(err.code, EBADMSG);
	CHECK(strstr(err.msg, "torn") != NULL);
	free(buf);
}

static void test_scan_verdicts(struct plog_gen *g)
{
	uint8_t buf[4096] = { 0 }; /* read with length 0 first: -O0 warns otherwise */
	struct plog_scan sc;
	/* Empty and short files, zeros: a torn header, not a foreign file. */
	CHECK_EQ(plog_log_scan_buf(buf, 0, NULL, NULL, &sc), 0);
	CHECK_EQ(sc.stop, PLOG_SCAN_HEADER);
	CHECK_EQ(sc.valid_end, 0);
	plog_log_header(buf, 1);
	CHECK_EQ(plog_log_scan_buf(buf, 20, NULL, NULL, &sc), 0);
	CHECK_EQ(sc.stop, PLOG_SCAN_HEADER);
	memset(buf, 0, 64);
	CHECK_EQ(plog_log_scan_buf(buf, 64, NULL, NULL, &sc), 0);
	CHECK_EQ(sc.stop, PLOG_SCAN_HEADER);
	/* Foreign file. */
	memcpy(buf, "GIF89a..................................", 40);
	CHECK_EQ(plog_log_scan_buf(buf, 40, NULL, NULL, &sc), -EBADMSG);
	CHECK_EQ(plog_log_scan_buf(buf, 3, NULL, NULL, &sc), -EBADMSG);
	/* Newer version with a valid header CRC. */
	plog_log_header(buf, 1);
	buf[8] = PLOG_LOG_VERSION + 1;
	uint32_t crc = plog_crc32c(0, buf, 28);
	for (int i = 0; i < 4; i++)
		buf[28 + i] = (uint8_t)(crc >> (8 * i));
	CHECK_EQ(plog_log_scan_buf(buf, PLOG_LOG_HDR_LEN, NULL, NULL, &sc), -ENOTSUP);
	/* Same bytes with a bad header CRC: damage, not a version question. */
	buf[28] ^= 1;
	CHECK_EQ(plog_log_scan_buf(buf, PLOG_LOG_HDR_LEN, NULL, NULL, &sc), 0);
	CHECK_EQ(sc.stop, PLOG_SCAN_HEADER);
	/* Out-of-order seq: base 5, frames 5, 7. */
	plog_log_header(buf, 5);
	size_t off = PLOG_LOG_HDR_LEN;
	struct plog_rec r;
	plog_gen_example(g, PLOG_REC_SESS_END, &r);
	r.seq = 5;
	off += (size_t)plog_rec_encode(&r, buf + off, sizeof(buf) - off);
	size_t after_first = off;
	r.seq = 7;
	off += (size_t)plog_rec_encode(&r, buf + off, sizeof(buf) - off);
	CHECK_EQ(plog_log_scan_buf(buf, off, NULL, NULL, &sc), 0);
	CHECK_EQ(sc.stop, PLOG_SCAN_SEQ);
	CHECK_EQ(sc.records, 1);
	CHECK_EQ(sc.valid_end, after_first);
	CHECK_EQ(sc.last_seq, 5);
	CHECK(strcmp(plog_scan_stop_str(PLOG_SCAN_CRC), "CRC32C mismatch") == 0);
}

static int fail_cb(void *arg, const struct plog_rec *rec)
{
	(void)arg;
	(void)rec;
	return -ENOMEM;
}

static void test_scan_cb_error(struct plog_gen *g)
{
	uint8_t buf[1024];
	plog_log_header(buf, 1);
	struct plog_rec r;
	plog_gen_example(g, PLOG_REC_SESS_END, &r);
	r.seq = 1;
	size_t off = PLOG_LOG_HDR_LEN + (size_t)plog_rec_encode(&r, buf + PLOG_LOG_HDR_LEN, 900);
	struct plog_scan sc;
	CHECK_EQ(plog_log_scan_buf(buf, off, fail_cb, NULL, &sc), -ENOMEM);
	CHECK_EQ(plog_log_scan_buf(buf, off, NULL, NULL, &sc), 0);
	CHECK_EQ(sc.stop, PLOG_SCAN_END);
}

int main(void)
{
	struct plog_gen g;
	REQUIRE(plog_gen_init(&g, 2, 50, 40) == 0);
	test_policy();
	test_append_sync_scan(&g);
	test_rotate_cut(&g);
	test_damage_refused(&g);
	test_scan_verdicts(&g);
	test_scan_cb_error(&g);
	plog_gen_free(&g);
	return pt_done("plog-log");
}
