/**
 * @file test_plog_store.c
 * The store end to end, against a reference replica built by applying the same records in
 * memory:
 *  - reopen replays the log and gives the same state; appends continue the sequence;
 *  - a torn tail at every byte offset of the last record: recovery yields exactly the
 *    records before it, keeps the tail aside, truncates, and the next append works;
 *  - zeros after the end, a bit flip in a middle segment (later segments set aside);
 *  - snapshot + log cut + more records + recovery == replaying everything;
 *  - a corrupt newest snapshot falls back to the previous one; both corrupt = refusal;
 *  - start_empty moves the old store aside; unreadable stores fail with a clear errno;
 *  - stores of format versions 1 and 2 are read (anonymous sessions) and continued in 3.
 */
#include "plog_test.h"

#include <signal.h>
#include <sys/resource.h>

#include "plog/plog_fs.h"
#include "plog/plog_store.h"
#include "plog_gen.h"

#define SEED 11

/* Records 1..n of the SEED stream applied to a fresh state. */
static struct plog_state *reference(uint64_t n)
{
	struct plog_gen g;
	REQUIRE(plog_gen_init(&g, SEED, 64, 40) == 0);
	struct plog_state *st = plog_state_new();
	for (uint64_t i = 0; i < n; i++) {
		struct plog_rec r;
		plog_gen_next(&g, &r);
		REQUIRE(plog_state_apply(st, &r) == 0);
	}
	plog_gen_free(&g);
	return st;
}

/* Append the SEED stream's records [from, to) (1-based seqs from..to-1). */
static void append_range(struct plog_store *ps, uint64_t from, uint64_t to)
{
	struct plog_gen g;
	REQUIRE(plog_gen_init(&g, SEED, 64, 40) == 0);
	for (uint64_t i = 1; i < to; i++) {
		struct plog_rec r;
		plog_gen_next(&g, &r);
		if (i < from)
			continue;
		CHECK_EQ(plog_store_append(ps, &r, i * 1000), i);
		if (i % 97 == 0)
			CHECK_EQ(plog_store_sync(ps), 0);
	}
	plog_gen_free(&g);
}

static struct plog_store *open_ok(const char *dir, const struct plog_store_opts *o)
{
	struct plog_error err;
	struct plog_store *ps = plog_store_open(dir, o, &err);
	if (ps == NULL)
		fprintf(stderr, "open %s: %s\n", dir, err.msg);
	REQUIRE(ps != NULL);
	return ps;
}

static void check_state(struct plog_store *ps, uint64_t n)
{
	struct plog_state *ref = reference(n);
	CHECK(plog_state_equal(plog_store_state(ps), ref));
	plog_state_free(ref);
}

static void test_reopen(void)
{
	const char *dir = pt_path("reopen/store"); /* parent missing: mkdir fails clearly */
	struct plog_error err;
	CHECK(plog_store_open(dir, NULL, &err) == NULL);
	CHECK_EQ(err.code, ENOENT);
	CHECK(strstr(err.msg, "reopen/store") != NULL);
	dir = pt_path("reopen");
	struct plog_store *ps = open_ok(dir, NULL);
	const struct plog_recovery *rc = plog_store_recovery(ps);
	CHECK(!rc->snapshot_used);
	CHECK_EQ(rc->records_replayed, 0);
	CHECK_EQ(rc->next_seq, 1);
	append_range(ps, 1, 501);
	/* append_range synced at 485; 15 records pending since t = 486 us (its clock). */
	CHECK(plog_store_durable_seq(ps) < 500);
	CHECK_EQ(plog_store_sync_deadline(ps), 486000 + 2000000);
	CHECK(!plog_store_sync_due(ps, 486000 + 1999999));
	CHECK(plog_store_sync_due(ps, 486000 + 2000000));
	CHECK_EQ(plog_store_sync(ps), 0);
	CHECK_EQ(plog_store_sync_deadline(ps), UINT64_MAX);
	CHECK_EQ(plog_store_durable_seq(ps), 500);
	struct plog_store_stats s;
	plog_store_stats(ps, &s);
	CHECK_EQ(s.appended, 500);
	CHECK_EQ(s.last_seq, 500);
	/* One process per store. */
	CHECK(plog_store_open(dir, NULL, &err) == NULL);
	CHECK_EQ(err.code, EBUSY);
	CHECK_EQ(plog_store_close(ps), 0);

	ps = open_ok(dir, NULL);
	rc = plog_store_recovery(ps);
	CHECK_EQ(rc->records_replayed, 500);
	CHECK_EQ(rc->tails_cut, 0);
	CHECK_EQ(rc->next_seq, 501);
	check_state(ps, 500);
	char line[1024];
	CHECK(plog_store_describe_recovery(ps, line, sizeof(line)) > 0);
	CHECK(strstr(line, "500 log records replayed") != NULL);
	append_range(ps, 501, 601);
	CHECK_EQ(plog_store_close(ps), 0);
	ps = open_ok(dir, NULL);
	CHECK_EQ(plog_store_recovery(ps)->records_replayed, 600);
	check_state(ps, 600);
	CHECK_EQ(plog_store_close(ps), 0);
}

/* Build a pristine one-segment store of n records; return its segment bytes. */
static uint8_t *pristine(const char *dir, uint64_t n, size_t *len)
{
	struct plog_store *ps = open_ok(dir, NULL);
	append_range(ps, 1, n + 1);
	CHECK_EQ(plog_store_close(ps), 0);
	char p[1024];
	snprintf(p, sizeof(p), "%s/log-00000000000000000001.tlog", dir);
	uint8_t *buf = pt_read(p, len);
	REQUIRE(buf != NULL);
	pt_rmrf(dir);
	return buf;
}

static void test_torn_tail_every_offset(void)
{
	const uint64_t n = 12;
	const char *dir = pt_path("torn");
	size_t len;
	uint8_t *seg = pristine(dir, n, &len);
	struct plog_scan sc;
	REQUIRE(plog_log_scan_buf(seg, len, NULL, NULL, &sc) == 0 && sc.records == n);
	/* Where the last record starts: the valid end of the file minus its last frame. */
	struct plog_scan sc2;
	size_t last_start = 0;
	for (size_t cut = len - 1; cut > PLOG_LOG_HDR_LEN; cut--) {
		plog_log_scan_buf(seg, cut, NULL, NULL, &sc2);
		if (sc2.records == n - 1 && sc2.stop == PLOG_SCAN_END) {
			last_start = cut;
			break;
		}
	}
	REQUIRE(last_start > PLOG_LOG_HDR_LEN);
	char segpath[1024];
	snprintf(segpath, sizeof(segpath), "%s/log-00000000000000000001.tlog", dir);
	struct plog_state *before = reference(n - 1);
	int cases = 0;
	for (size_t cut = last_start; cut < len; cut++) {
		pt_rmrf(dir);
		REQUIRE(mkdir(dir, 0700) == 0);
		pt_write(segpath, seg, cut);
		struct plog_store *ps = open_ok(dir, NULL);
		const struct plog_recovery *r = plog_store_recovery(ps);
		CHECK_EQ(r->records_replayed, n - 1);
		CHECK(plog_state_equal(plog_store_state(ps), before));
		CHECK_EQ(r->next_seq, n);
		CHECK_EQ(r->tails_cut, cut > last_start ? 1 : 0);
		CHECK_EQ(r->bytes_cut, cut - last_start);
		if (cut > last_start) {
			CHECK_EQ(r->tail_reason, PLOG_SCAN_TORN);
			size_t tl;
			uint8_t *tail = pt_read(r->tail_file, &tl);
			CHECK(tail != NULL && tl == cut - last_start &&
			      memcmp(tail, seg + last_start, tl) == 0);
			free(tail);
		}
		struct stat sb;
		CHECK(stat(segpath, &sb) == 0 && (size_t)sb.st_size == last_start);
		/* The next append works and takes the lost record's number. */
		struct plog_rec rec = { .type = PLOG_REC_RETAIN_CLEAR };
		rec.u.ret.topic = (struct plog_bytes){ (const uint8_t *)"x", 1 };
		CHECK_EQ(plog_store_append(ps, &rec, 0), n);
		CHECK_EQ(plog_store_close(ps), 0);
		ps = open_ok(dir, NULL);
		CHECK_EQ(plog_store_recovery(ps)->records_replayed, n);
		CHECK_EQ(plog_store_recovery(ps)->tails_cut, 0);
		CHECK_EQ(plog_store_close(ps), 0);
		cases++;
	}
	CHECK(cases > (int)PLOG_REC_OVERHEAD);

	/* Zeros after the last record (pre-allocated blocks after a crash). */
	pt_rmrf(dir);
	REQUIRE(mkdir(dir, 0700) == 0);
	uint8_t *z = calloc(1, len + 4096);
	memcpy(z, seg, len);
	pt_write(segpath, z, len + 4096);
	struct plog_store *ps = open_ok(dir, NULL);
	CHECK_EQ(plog_store_recovery(ps)->records_replayed, n);
	CHECK_EQ(plog_store_recovery(ps)->tails_cut, 1);
	CHECK_EQ(plog_store_recovery(ps)->bytes_cut, 4096);
	CHECK_EQ(plog_store_close(ps), 0);
	free(z);

	/* A torn segment header (crash while creating the segment): the file is set aside. */
	pt_rmrf(dir);
	REQUIRE(mkdir(dir, 0700) == 0);
	pt_write(segpath, seg, 20);
	ps = open_ok(dir, NULL);
	CHECK_EQ(plog_store_recovery(ps)->tails_cut, 1);
	CHECK_EQ(plog_store_recovery(ps)->tail_reason, PLOG_SCAN_HEADER);
	CHECK_EQ(plog_store_recovery(ps)->next_seq, 1);
	CHECK_EQ(pt_count(dir, ".bad-"), 1);
	CHECK_EQ(plog_store_close(ps), 0);
	plog_state_free(before);
	free(seg);
}

static void test_bitflip_middle(void)
{
	const char *dir = pt_path("flip");
	struct plog_store_opts o = { .log = { .segment_bytes = 8192 } };
	struct plog_store *ps = open_ok(dir, &o);
	append_range(ps, 1, 601);
	CHECK_EQ(plog_store_close(ps), 0);
	struct plog_fs_entry *segs;
	int n = plog_fs_list(dir, "log-", ".tlog", &segs);
	REQUIRE(n >= 4);
	char p[1024];
	snprintf(p, sizeof(p), "%s/%s", dir, segs[1].name);
	size_t len;
	uint8_t *buf = pt_read(p, &len);
	buf[len / 2] ^= 0x10;
	pt_write(p, buf, len);
	free(buf);
	ps = open_ok(dir, &o);
	const struct plog_recovery *r = plog_store_recovery(ps);
	CHECK_EQ(r->tails_cut, 1);
	CHECK(r->tail_reason == PLOG_SCAN_CRC || r->tail_reason == PLOG_SCAN_LENGTH ||
	      r->tail_reason == PLOG_SCAN_TORN);
	CHECK(r->tail_seq >= segs[1].seq && r->tail_seq < segs[2].seq);
	CHECK_EQ(r->records_replayed, r->tail_seq);
	CHECK_EQ(r->next_seq, r->tail_seq + 1);
	check_state(ps, r->tail_seq);
	/* The damaged segment's tail and every later segment are set aside. */
	CHECK_EQ(pt_count(dir, ".bad-"), n - 1);
	CHECK_EQ(pt_count(dir, "tlog$"), 2);
	CHECK_EQ(plog_store_close(ps), 0);
	free(segs);
}

/* A segment whose header disagrees with its file name is refused before any of its records
 * is applied: the state ends just before it. */
static void test_misplaced_segment(void)
{
	const char *dir = pt_path("misplaced");
	struct plog_store_opts o = { .log = { .segment_bytes = 8192 } };
	struct plog_store *ps = open_ok(dir, &o);
	append_range(ps, 1, 601);
	CHECK_EQ(plog_store_close(ps), 0);
	struct plog_fs_entry *segs;
	int n = plog_fs_list(dir, "log-", ".tlog", &segs);
	REQUIRE(n >= 4);
	char from[1024], to[1024];
	snprintf(from, sizeof(from), "%s/%s", dir, segs[2].name);
	snprintf(to, sizeof(to), "%s/log-%020" PRIu64 ".tlog", dir, segs[2].seq - 1);
	REQUIRE(rename(from, to) == 0);
	ps = open_ok(dir, &o);
	const struct plog_recovery *r = plog_store_recovery(ps);
	CHECK_EQ(r->tails_cut, 1);
	CHECK_EQ(r->tail_reason, PLOG_SCAN_HEADER);
	CHECK_EQ(r->tail_seq, segs[2].seq - 1);
	CHECK_EQ(r->records_replayed, segs[2].seq - 1);
	check_state(ps, segs[2].seq - 1);
	CHECK_EQ(plog_store_close(ps), 0);
	free(segs);
}

/* A write error (here: the file size limit, so a write() stops part way like on a full
 * disk) is latched, durable_seq stops, and recovery keeps everything that was synced. */
static void test_write_failure_latched(void)
{
	const char *dir = pt_path("efbig");
	struct plog_store_opts o = { .log = { .buffer_bytes = 4096 } };
	struct plog_store *ps = open_ok(dir, &o);
	struct rlimit old, lim;
	REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
	void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 50000;
	REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	struct plog_gen g;
	REQUIRE(plog_gen_init(&g, SEED, 64, 40) == 0);
	int64_t rc = 0;
	uint64_t i, durable = 0;
	for (i = 1; i < 100000 && rc >= 0; i++) {
		struct plog_rec r;
		plog_gen_next(&g, &r);
		rc = plog_store_append(ps, &r, 0);
		if (rc >= 0 && i % 10 == 0) {
			rc = plog_store_sync(ps);
			if (rc == 0)
				durable = plog_store_durable_seq(ps);
		}
	}
	CHECK_EQ(rc, -EFBIG);
	CHECK(durable > 100);
	CHECK_EQ(plog_store_durable_seq(ps), durable);
	struct plog_rec r;
	plog_gen_next(&g, &r);
	CHECK_EQ(plog_store_append(ps, &r, 0), -EFBIG); /* latched */
	CHECK_EQ(plog_store_sync(ps), -EFBIG);
	CHECK_EQ(plog_store_durable_seq(ps), durable);
	REQUIRE(setrlimit(RLIMIT_FSIZE, &old) == 0);
	signal(SIGXFSZ, prev);
	CHECK_EQ(plog_store_close(ps), -EFBIG);
	plog_gen_free(&g);

	ps = open_ok(dir, &o);
	const struct plog_recovery *rec = plog_store_recovery(ps);
	CHECK(rec->records_replayed >= durable);
	CHECK(rec->records_replayed < i);
	check_state(ps, rec->records_replayed);
	CHECK_EQ(plog_store_append(ps, &r, 0), rec->records_replayed + 1);
	CHECK_EQ(plog_store_close(ps), 0);
}

static void flip_file(const char *path, size_t off)
{
	size_t len;
	uint8_t *buf = pt_read(path, &len);
	REQUIRE(buf != NULL && off < len);
	buf[off] ^= 0x01;
	pt_write(path, buf, len);
	free(buf);
}

static void test_snapshots(void)
{
	const char *dir = pt_path("snap");
	struct plog_store_opts o = { .log = { .segment_bytes = 16384 } };
	struct plog_store *ps = open_ok(dir, &o);
	struct plog_snap_info si;
	struct plog_error err;
	append_range(ps, 1, 3001);
	CHECK_EQ(plog_store_snapshot(ps, &si, &err), 0);
	CHECK_EQ(si.seq, 3000);
	append_range(ps, 3001, 6001);
	CHECK_EQ(plog_store_snapshot(ps, &si, &err), 0);
	CHECK_EQ(si.seq, 6000);
	append_range(ps, 6001, 7001);
	CHECK_EQ(plog_store_close(ps), 0);
	CHECK_EQ(pt_count(dir, "tsnap$"), 2);
	/* The log was cut up to the older snapshot: nothing wholly <= 3000 remains. */
	struct plog_fs_entry *segs;
	int n = plog_fs_list(dir, "log-", ".tlog", &segs);
	REQUIRE(n >= 2);
	CHECK(segs[0].seq > 1 && segs[0].seq <= 3001);
	CHECK(segs[1].seq > 3001);
	free(segs);

	ps = open_ok(dir, &o);
	const struct plog_recovery *r = plog_store_recovery(ps);
	CHECK(r->snapshot_used);
	CHECK_EQ(r->snapshot_seq, 6000);
	CHECK_EQ(r->records_replayed, 1000);
	CHECK(r->records_skipped > 0);
	CHECK_EQ(r->next_seq, 7001);
	check_state(ps, 7000);
	CHECK_EQ(plog_store_close(ps), 0);

	/* Corrupt newest snapshot: fall back to the previous one and the longer log. */
	char copy[1024];
	snprintf(copy, sizeof(copy), "%s", pt_path("snap-copy"));
	pt_copy_dir(dir, copy);
	char sp[1024];
	plog_snap_path(sp, sizeof(sp), copy, 6000);
	flip_file(sp, 500);
	ps = open_ok(copy, &o);
	r = plog_store_recovery(ps);
	CHECK_EQ(r->snapshots_bad, 1);
	CHECK_EQ(r->snapshot_seq, 3000);
	CHECK_EQ(r->records_replayed, 4000);
	check_state(ps, 7000);
	CHECK_EQ(pt_count(copy, "tsnap.bad-"), 1);
	CHECK_EQ(plog_store_close(ps), 0);

	/* Damage in a segment the newest snapshot covers loses nothing: skipped, not cut. */
	pt_copy_dir(dir, copy);
	n = plog_fs_list(copy, "log-", ".tlog", &segs);
	REQUIRE(n >= 3 && segs[1].seq < 6000 && segs[2].seq <= 6001);
	char segp[1100];
	snprintf(segp, sizeof(segp), "%s/%s", copy, segs[1].name);
	flip_file(segp, 200);
	free(segs);
	ps = open_ok(copy, &o);
	r = plog_store_recovery(ps);
	CHECK_EQ(r->covered_damage, 1);
	CHECK_EQ(r->tails_cut, 0);
	CHECK_EQ(r->snapshot_seq, 6000);
	CHECK_EQ(r->records_replayed, 1000);
	check_state(ps, 7000);
	CHECK_EQ(plog_store_close(ps), 0);

	/* A third snapshot deletes the first and cuts up to the second. */
	ps = open_ok(dir, &o);
	append_range(ps, 7001, 8001);
	CHECK_EQ(plog_store_snapshot(ps, &si, &err), 0);
	CHECK_EQ(plog_store_close(ps), 0);
	CHECK_EQ(pt_count(dir, "tsnap$"), 2);
	CHECK_EQ(pt_count(dir, "snapshot-00000000000000003000"), 0);

	/* Both snapshots corrupt and the log no longer reaches back to 1: refuse, clearly. */
	pt_copy_dir(dir, copy);
	plog_snap_path(sp, sizeof(sp), copy, 8000);
	flip_file(sp, 100);
	plog_snap_path(sp, sizeof(sp), copy, 6000);
	flip_file(sp, 100);
	CHECK(plog_store_open(copy, &o, &err) == NULL);
	CHECK_EQ(err.code, EBADMSG);
	CHECK(strstr(err.msg, "missing") != NULL);

	/* A stale .tmp from a crash during a snapshot is deleted at open. */
	char tmp[1100];
	snprintf(tmp, sizeof(tmp), "%s/snapshot-00000000000000009999.tsnap.tmp", dir);
	pt_write(tmp, "partial", 7);
	ps = open_ok(dir, &o);
	CHECK_EQ(plog_store_recovery(ps)->tmp_removed, 1);
	CHECK_EQ(plog_store_recovery(ps)->snapshot_seq, 8000);
	check_state(ps, 8000);
	CHECK_EQ(plog_store_close(ps), 0);
}

static void test_start_empty_and_refusals(void)
{
	const char *dir = pt_path("empty");
	struct plog_store *ps = open_ok(dir, NULL);
	append_range(ps, 1, 101);
	CHECK_EQ(plog_store_close(ps), 0);
	/* Foreign file in the store: refused by name, store untouched. */
	char p[1024];
	snprintf(p, sizeof(p), "%s/log-00000000000000000101.tlog", dir);
	pt_write(p, "this is not a tachyon log segment at all", 40);
	struct plog_error err;
	CHECK(plog_store_open(dir, NULL, &err) == NULL);
	CHECK_EQ(err.code, EBADMSG);
	CHECK(strstr(err.msg, "log-00000000000000000101.tlog") != NULL);
	/* Newer format version. */
	uint8_t hdr[PLOG_LOG_HDR_LEN];
	plog_log_header(hdr, 101);
	hdr[8] = 9;
	uint32_t crc = plog_crc32c(0, hdr, 28);
	for (int i = 0; i < 4; i++)
		hdr[28 + i] = (uint8_t)(crc >> (8 * i));
	pt_write(p, hdr, sizeof(hdr));
	CHECK(plog_store_open(dir, NULL, &err) == NULL);
	CHECK_EQ(err.code, ENOTSUP);
	CHECK(strstr(err.msg, "newer") != NULL);
	CHECK_EQ(pt_count(dir, "tlog$"), 2);
	/* The operator's way out: start empty, old store kept aside. */
	struct plog_store_opts o = { .start_empty = true };
	ps = open_ok(dir, &o);
	const struct plog_recovery *r = plog_store_recovery(ps);
	CHECK(r->moved_aside[0] != '\0');
	CHECK(strstr(r->moved_aside, ".old-") != NULL);
	CHECK_EQ(r->next_seq, 1);
	struct plog_state_stats s;
	plog_state_stats(plog_store_state(ps), &s);
	CHECK_EQ(s.sessions, 0);
	CHECK_EQ(pt_count(r->moved_aside, "tlog$"), 2);
	CHECK_EQ(plog_store_close(ps), 0);
	ps = open_ok(dir, NULL);
	CHECK_EQ(plog_store_recovery(ps)->records_replayed, 0);
	CHECK_EQ(plog_store_close(ps), 0);
	/* A path that is a file, not a directory. */
	const char *file = pt_path("plainfile");
	pt_write(file, "x", 1);
	CHECK(plog_store_open(file, NULL, &err) == NULL);
	CHECK_EQ(err.code, ENOTDIR);
	/* Permissions (only meaningful when not root: root reads anything). */
	if (geteuid() != 0) {
		const char *ro = pt_path("noperm");
		ps = open_ok(ro, NULL);
		CHECK_EQ(plog_store_close(ps), 0);
		chmod(ro, 0);
		CHECK(plog_store_open(ro, NULL, &err) == NULL);
		CHECK_EQ(err.code, EACCES);
		chmod(ro, 0700);
	}
}

/* Write what a build of format @p version wrote: one segment from seq 1 with @p n records
 * of the SEED stream, each encoded as that version does (a version 1 build had no
 * sess_will: those records are left out), and the same records as that version's reader
 * decodes them applied to @p ref. @return how many sess_create records had a username
 * that the old format cannot keep. */
static unsigned write_old_segment(const char *path, uint32_t version, uint64_t n,
				  struct plog_state *ref)
{
	size_t cap = 1u << 20, off = PLOG_LOG_HDR_LEN;
	uint8_t *buf = malloc(cap);
	REQUIRE(buf != NULL);
	plog_log_header(buf, 1);
	buf[8] = (uint8_t)version;
	uint32_t crc = plog_crc32c(0, buf, 28);
	for (int i = 0; i < 4; i++)
		buf[28 + i] = (uint8_t)(crc >> (8 * i));
	struct plog_gen g;
	REQUIRE(plog_gen_init(&g, SEED, 64, 40) == 0);
	unsigned users = 0;
	for (uint64_t seq = 1; seq <= n;) {
		struct plog_rec r;
		plog_gen_next(&g, &r);
		if (version < 2 && r.type == PLOG_REC_SESS_WILL)
			continue;
		r.seq = seq++;
		int64_t k = plog_rec_encode_ver(&r, version, buf + off, cap - off);
		REQUIRE(k > 0);
		struct plog_rec back;
		size_t fl;
		REQUIRE(plog_rec_parse_ver(buf + off, (size_t)k, version, &back, &fl) == 0);
		REQUIRE(plog_state_apply(ref, &back) == 0);
		if (r.type == PLOG_REC_SESS_CREATE && r.u.sess.has_username)
			users++;
		off += (size_t)k;
	}
	plog_gen_free(&g);
	pt_write(path, buf, off);
	free(buf);
	return users;
}

static int no_identity(void *arg, const struct plog_sess *s)
{
	(void)arg;
	return s->has_username || s->username.len != 0 || s->listener != 0;
}

/* A store written by a version 1 or 2 build: read as it is (its sessions anonymous, on
 * listener 0: those formats did not keep the identity); new records go to a new segment
 * with this build's version, never appended under the old header, and keep theirs. */
static void test_old_version_store(uint32_t version)
{
	char name[16];
	snprintf(name, sizeof(name), "v%u", version);
	const char *dir = pt_path(name);
	REQUIRE(mkdir(dir, 0700) == 0);
	char p1[1024], p2[1024];
	snprintf(p1, sizeof(p1), "%s/log-00000000000000000001.tlog", dir);
	snprintf(p2, sizeof(p2), "%s/log-00000000000000000201.tlog", dir);
	struct plog_state *ref = plog_state_new();
	REQUIRE(ref != NULL);
	CHECK(write_old_segment(p1, version, 200, ref) > 0); /* the stream has users to lose */

	struct plog_store *ps = open_ok(dir, NULL);
	CHECK_EQ(plog_store_recovery(ps)->records_replayed, 200);
	CHECK_EQ(plog_store_recovery(ps)->tails_cut, 0);
	CHECK(plog_state_equal(plog_store_state(ps), ref));
	CHECK_EQ(plog_state_foreach(plog_store_state(ps), no_identity, NULL, NULL), 0);
	/* Continued by this build: a session with a username. */
	struct plog_rec r = { .type = PLOG_REC_SESS_CREATE };
	r.u.sess.client_id = (struct plog_bytes){ (const uint8_t *)"v3-client", 9 };
	r.u.sess.proto_version = 5;
	r.u.sess.expiry_interval = 60;
	r.u.sess.has_username = true;
	r.u.sess.username = (struct plog_bytes){ (const uint8_t *)"alice", 5 };
	r.u.sess.listener = 2;
	CHECK_EQ(plog_store_append(ps, &r, 1000), 201);
	REQUIRE(plog_state_apply(ref, &r) == 0);
	CHECK_EQ(plog_store_close(ps), 0);
	size_t len;
	uint8_t *buf = pt_read(p1, &len);
	REQUIRE(buf != NULL);
	CHECK_EQ(buf[8], version); /* the old segment is left as it was */
	free(buf);
	buf = pt_read(p2, &len);
	REQUIRE(buf != NULL);
	CHECK_EQ(buf[8], PLOG_LOG_VERSION);
	free(buf);
	ps = open_ok(dir, NULL);
	CHECK_EQ(plog_store_recovery(ps)->records_replayed, 201);
	CHECK(plog_state_equal(plog_store_state(ps), ref));
	const struct plog_sess *s = plog_state_session(plog_store_state(ps), "v3-client", 9);
	CHECK(s != NULL && s->has_username && s->username.len == 5 &&
	      memcmp(s->username.ptr, "alice", 5) == 0 && s->listener == 2);
	/* A snapshot of the mix is written in this build's version and keeps it too. */
	struct plog_error err;
	CHECK_EQ(plog_store_snapshot(ps, NULL, &err), 0);
	CHECK_EQ(plog_store_close(ps), 0);
	ps = open_ok(dir, NULL);
	CHECK(plog_store_recovery(ps)->snapshot_used);
	CHECK(plog_state_equal(plog_store_state(ps), ref));
	CHECK_EQ(plog_store_close(ps), 0);
	plog_state_free(ref);
}

int main(void)
{
	test_reopen();
	test_torn_tail_every_offset();
	test_bitflip_middle();
	test_misplaced_segment();
	test_write_failure_latched();
	test_snapshots();
	test_start_empty_and_refusals();
	test_old_version_store(1);
	test_old_version_store(2);
	return pt_done("plog-store");
}
