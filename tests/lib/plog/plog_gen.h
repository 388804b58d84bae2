/**
 * @file plog_gen.h
 * Deterministic generators of persistence records for the plog tests, the seed-corpus tool and
 * the benchmarks: one record of every type, and a seeded "broker day" stream in which acks,
 * deliveries and QoS 2 steps refer to messages and sessions that exist, like a real broker's.
 *
 * Records returned point into the generator's scratch space: valid until the next call.
 */
#ifndef TACHYON_TESTS_PLOG_GEN_H
#define TACHYON_TESTS_PLOG_GEN_H

#include <stdint.h>

#include "plog/plog_record.h"

#ifdef __cplusplus
extern "C" {
#endif

struct plog_gen_sess; /* per-session bookkeeping, private to plog_gen.c */

struct plog_gen {
	uint64_t rng;
	uint32_t nsess;               /* sessions the stream uses: client-00000000 .. */
	struct plog_gen_sess *sess;   /* nsess entries */
	uint32_t payload_len;         /* bytes of message payload */
	char cid[32], topic[64], filter[64];
	uint8_t payload[4096];
	uint8_t props[8];
	uint64_t time_ms;
};

/** Start a stream over @p nsess sessions (>= 1) with payloads of @p payload_len (<= 4096). */
int plog_gen_init(struct plog_gen *g, uint64_t seed, uint32_t nsess, uint32_t payload_len);

/** Free what plog_gen_init() allocated. */
void plog_gen_free(struct plog_gen *g);

/** Next record of the mixed stream (every type appears; references are consistent). */
void plog_gen_next(struct plog_gen *g, struct plog_rec *rec);

/**
 * Population records: for i in [0, nsess): SESS_CREATE then SUB_ADD for session i.
 * @p k counts from 0 to 2 * nsess - 1.
 */
void plog_gen_populate(struct plog_gen *g, uint64_t k, struct plog_rec *rec);

/** Example @p type record with every field set (wills, props, ids), for round-trip tests. */
void plog_gen_example(struct plog_gen *g, enum plog_rec_type type, struct plog_rec *rec);

#ifdef __cplusplus
}
#endif

#endif /* TACHYON_TESTS_PLOG_GEN_H */
