/**
 * @file tcp_harness.h
 * In-process test bench for lib/tcp (used by the unit tests, the fuzz target and the
 * benchmarks): DPDK EAL without hugepages, one mbuf pool, a stack whose ip_output captures
 * and parses every segment, a virtual clock, and a segment crafter that builds exactly the
 * TCP segment a test wants (options, payload, correct or deliberately wrong checksum).
 */
#ifndef TACHYON_TESTS_TCP_HARNESS_H
#define TACHYON_TESTS_TCP_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "tcp/tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

#define TH_LOCAL_IP  0x0a4d0002u /* 10.77.0.2: the stack */
#define TH_REMOTE_IP 0x0a4d0001u /* 10.77.0.1: the scripted peer */

/** A segment to craft, or one captured (parsed). */
struct th_seg {
	uint32_t src_ip, dst_ip;     /**< 0 = the default peer/stack address */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	/* options (crafting: emitted when set; capture: what was present) */
	int mss;                     /**< -1 none */
	int ws;                      /**< -1 none */
	bool sack_ok;
	bool ts;
	uint32_t tsval, tsecr;
	int nsack;
	uint32_t sack[4][2];
	const uint8_t *raw_opts;     /**< crafting: raw option bytes instead of the above */
	unsigned raw_opts_len;
	/* payload */
	const uint8_t *data;         /**< crafting */
	uint32_t len;
	uint8_t payload[2048];       /**< capture: first bytes of the payload */
	bool bad_cksum;              /**< crafting: corrupt the checksum */
	bool cksum_ok;               /**< capture: checksum verified */
	uint16_t hdr_len;
	uint32_t nb_segs;            /**< capture: mbufs in the chain */
};

/** Initialise the EAL once per process (no hugepages, no PCI). Aborts on failure. */
void th_eal_init(const char *name, unsigned mem_mb);

/** A pool shared by all tests of a process (created on first use). */
struct rte_mempool *th_pool(unsigned n);

/** mbufs currently taken from the pool. */
unsigned th_pool_in_use(void);

#define TH_MAX_CAP 4096

/** Capture slots th_open allocates (default TH_MAX_CAP; the fuzzer needs few). */
extern unsigned th_cap_max;

/** One scripted stack with captured output. */
struct th {
	struct tcp_stack *s;
	uint64_t now_ns;
	struct th_seg *cap;           /**< captured segments (heap: TH_MAX_CAP) */
	unsigned ncap;
	unsigned cap_dropped;
	bool drop_output;             /**< discard instead of capturing (fuzzing, benches) */
	unsigned busy_output;         /**< refuse this many more segments with -EBUSY (a full
				       *   link queue), counting down */
	struct tcp_stack_config cfg;
};

/** Default config for a scripted stack (no delayed ACK unless a test sets it). */
void th_default_cfg(struct tcp_stack_config *cfg);

/** Create the stack with @p cfg (NULL = th_default_cfg). Aborts on failure. */
void th_open(struct th *t, const struct tcp_stack_config *cfg);
void th_close(struct th *t);

/** Craft @p sg and hand it to tcp_input. */
void th_input(struct th *t, const struct th_seg *sg);

/** Build the mbuf of @p sg (as th_input would) without sending it. */
struct rte_mbuf *th_build(const struct th_seg *sg);

/** Write the correct TCP checksum into the flat segment @p seg (len >= 18). */
void th_fix_cksum(uint8_t *seg, uint32_t len, uint32_t src, uint32_t dst);

/** Verify a segment's TCP checksum independently of lib/tcp (flat copy, RFC 1071). */
bool th_cksum_ok(const struct rte_mbuf *m, uint32_t src, uint32_t dst);

/** Advance the clock by @p ms and tcp_poll. */
void th_poll(struct th *t, uint64_t ms);

/** Forget captured segments. */
void th_clear(struct th *t);

/** Default crafted segment: peer port 40000 -> stack port 7, no options. */
void th_seg_init(struct th_seg *sg);

/** Print a captured segment (debugging). */
void th_seg_print(FILE *f, const struct th_seg *sg);

/* ---- a minimal test runner ---- */
extern int th_failures;
extern const char *th_current;

/** One named test case of a test program. */
struct th_test {
	const char *name;
	void (*fn)(void);
};
#define TH_TEST(x) { #x, x }

/**
 * A test program's main: EAL up as @p eal_name, then every test (or those whose name
 * contains argv[1]); after each, the mbuf pool must be back to its count before it.
 * @return the process exit code (0 when nothing failed).
 */
int th_run(const char *eal_name, const struct th_test *tests, size_t n, int argc, char **argv);
#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "FAIL %s:%d [%s]: %s\n", __FILE__, __LINE__, th_current, \
				#cond);                                                      \
			th_failures++;                                                       \
		}                                                                            \
	} while (0)
#define CHECK_EQ(a, b)                                                                       \
	do {                                                                                 \
		long long _a = (long long)(a), _b = (long long)(b);                          \
		if (_a != _b) {                                                              \
			fprintf(stderr, "FAIL %s:%d [%s]: %s == %s (%lld != %lld)\n", __FILE__,  \
				__LINE__, th_current, #a, #b, _a, _b);                       \
			th_failures++;                                                       \
		}                                                                            \
	} while (0)

#ifdef __cplusplus
}
#endif

#endif
