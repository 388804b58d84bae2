/**
 * @file tcp_syncookie.c
 * The stack's keyed hashes: initial sequence numbers per RFC 6528 and SYN cookies.
 *
 * Both need a pseudo-random function keyed with the stack's 128-bit secret that an attacker
 * cannot invert or predict from observed outputs. We use SipHash-2-4 (Aumasson & Bernstein),
 * written here from its specification: it is a keyed PRF designed for short inputs, fast
 * (~20 ns for 16 bytes) and has no dependency. A CRC (rte_hash_crc) would be faster but is
 * linear, so a few observed ISNs would reveal the key: RFC 6528 asks for a PRF.
 *
 * ISN (RFC 6528 section 3): ISN = M + F(localip, localport, remoteip, remoteport, secretkey),
 * M a 4-microsecond timer. Connections to the same peer get increasing ISNs; different
 * 4-tuples get unrelated ones.
 *
 * SYN cookie (used when the SYN queue is full): the SYN-ACK's ISS encodes what the
 * connection needs, so no state is kept until the final ACK proves the peer saw our SYN-ACK:
 *
 *     bits 31..27  t      64-second period counter, mod 32
 *     bits 26..24  mss    index into tcp__cookie_mss[]
 *     bits 23..20  ws     the peer's window scale, 15 = none
 *     bit  19      sack   the peer offered SACK
 *     bits 18..0   hash   SipHash(4-tuple, peer's ISN, full period, the bits above)
 *
 * A cookie is valid for the current and the previous period (64 to 128 s). Timestamps need
 * no encoding: the final ACK carries the option if the peer uses it.
 */
#include <string.h>

#include "tcp/tcp_int.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                                 \
	do {                                                                     \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);        \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                           \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                           \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);        \
	} while (0)

static uint64_t tcp__le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t tcp__siphash(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t k0 = tcp__le64(key), k1 = tcp__le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t v3 = 0x7465646279746573ULL ^ k1;
	size_t full = len & ~(size_t)7;

	for (size_t i = 0; i < full; i += 8) {
		uint64_t m = tcp__le64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	uint64_t b = (uint64_t)len << 56;
	for (size_t i = 0; i < (len & 7); i++)
		b |= (uint64_t)in[full + i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

struct tcp__tuple_key {
	uint32_t lip, rip;
	uint16_t lport, rport;
	uint32_t extra[3];
};

uint32_t tcp__isn(const struct tcp_stack *s, uint32_t lip, uint16_t lport, uint32_t rip,
		  uint16_t rport)
{
	struct tcp__tuple_key k;
	memset(&k, 0, sizeof(k));
	k.lip = lip;
	k.rip = rip;
	k.lport = lport;
	k.rport = rport;
	uint32_t f = (uint32_t)tcp__siphash(s->cfg.secret, &k, sizeof(k));
	uint32_t m = (uint32_t)(s->now_ns / 4000); /* 4 us clock (RFC 6528 / RFC 9293) */
	return m + f;
}

/* MSS values a cookie can carry; the largest not above the peer's is used. */
static const uint16_t tcp__cookie_mss[8] = { 536, 1200, 1300, 1360, 1400, 1440, 1460, 8960 };

#define COOKIE_PERIOD_NS (64ULL * 1000000000ULL)

static uint32_t tcp__cookie_hash(const struct tcp_stack *s, uint32_t lip, uint16_t lport,
				 uint32_t rip, uint16_t rport, uint32_t irs, uint32_t period,
				 uint32_t bits)
{
	struct tcp__tuple_key k;
	memset(&k, 0, sizeof(k));
	k.lip = lip;
	k.rip = rip;
	k.lport = lport;
	k.rport = rport;
	k.extra[0] = irs;
	k.extra[1] = period;
	k.extra[2] = bits ^ 0x5a17c00cU; /* domain separation from the ISN function */
	return (uint32_t)tcp__siphash(s->cfg.secret, &k, sizeof(k)) & 0x7ffff;
}

uint32_t tcp__cookie_make(const struct tcp_stack *s, uint32_t lip, uint16_t lport,
			  uint32_t rip, uint16_t rport, uint32_t irs, uint16_t mss,
			  int peer_ws, bool sack)
{
	uint32_t period = (uint32_t)(s->now_ns / COOKIE_PERIOD_NS);
	uint32_t idx = 0;
	for (uint32_t i = 0; i < 8; i++)
		if (tcp__cookie_mss[i] <= mss)
			idx = i;
	uint32_t ws = peer_ws < 0 ? 15u : (uint32_t)peer_ws;
	uint32_t bits = ((period & 31) << 27) | (idx << 24) | (ws << 20) | ((sack ? 1u : 0u) << 19);
	return bits | tcp__cookie_hash(s, lip, lport, rip, rport, irs, period, bits);
}

int tcp__cookie_check(const struct tcp_stack *s, uint32_t lip, uint16_t lport, uint32_t rip,
		      uint16_t rport, uint32_t irs, uint32_t cookie, uint16_t *mss,
		      int *peer_ws, bool *sack)
{
	uint32_t now_period = (uint32_t)(s->now_ns / COOKIE_PERIOD_NS);
	uint32_t bits = cookie & ~0x7ffffU;
	uint32_t t = cookie >> 27;

	for (uint32_t back = 0; back < 2; back++) {
		uint32_t period = now_period - back;
		if ((period & 31) != t)
			continue;
		if (tcp__cookie_hash(s, lip, lport, rip, rport, irs, period, bits) !=
		    (cookie & 0x7ffff))
			return -EINVAL;
		uint32_t ws = (cookie >> 20) & 15;
		if (ws != 15 && ws > TCP_MAX_WSCALE)
			return -EINVAL;
		*mss = tcp__cookie_mss[(cookie >> 24) & 7];
		*peer_ws = ws == 15 ? -1 : (int)ws;
		*sack = (cookie >> 19) & 1;
		return 0;
	}
	return -ETIMEDOUT;
}
