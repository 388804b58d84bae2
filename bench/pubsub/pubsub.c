/**
 * @file pubsub.c
 * tachyon-pubsub: a publish/subscribe load generator for any MQTT broker (tachyond, Mosquitto).
 *
 * Where it sits: bench/pubsub/compare runs it, with the same arguments, against tachyond (over
 * the tap) and a local Mosquitto (loopback); this program is the client side of both runs.
 * It speaks MQTT through lib/mqtt (mqtt_encode() out, mqtt_decoder_feed() in) over ordinary
 * kernel sockets, all of them non-blocking in one epoll loop on one thread, so the client's
 * own cost is the same whichever broker is measured.
 *
 * A run has three phases:
 *   1. setup: S subscribers connect and subscribe to one topic at QoS q (at most
 *      PS_MAX_HANDSHAKES handshakes in flight, so a broker's listen backlog is not the
 *      bottleneck), then P publishers connect; every CONNACK and SUBACK must be a success.
 *   2. load: each publisher sends n PUBLISH packets as fast as TCP lets it (QoS 0) or with at
 *      most W unacknowledged ones (QoS 1). The payload carries the publisher id, a sequence
 *      number and the send time (CLOCK_MONOTONIC; publishers and subscribers share the clock).
 *   3. drain: ends when every subscriber has every message, after a quiet period without a
 *      delivery, or at the global timeout.
 * Subscribers keep one bitmap per (subscriber, publisher) to tell duplicates from first
 * deliveries, and the highest sequence seen to detect reordering; lost = expected - unique.
 *
 * Exit status: 0 run complete, 1 usage, 2 a connection failed or was refused during setup,
 * 3 a connection closed during the load (results still printed), 4 setup did not finish
 * before the timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mqtt/mqtt.h"

/** Handshakes (TCP connect + CONNECT/CONNACK + SUBSCRIBE/SUBACK) in flight at once. */
#define PS_MAX_HANDSHAKES 64
/** A publisher stops encoding once this many bytes wait to be written (keeps latency honest:
 *  a message is timestamped shortly before the kernel takes it). */
#define PS_PUB_TX_HIGH 32768
/** Payload header: publisher id (u32), sequence (u32), send time in ns (u64). */
#define PS_PAYLOAD_MIN 16
/** Largest bitmap memory accepted for duplicate detection (S * P * n bits). */
#define PS_MAX_BITMAP_BYTES (512u << 20)
/** Latency histogram: 64 sub-buckets per power of two, so a bucket is within 1.6%. */
#define PS_HIST_SUB 64
#define PS_HIST_BUCKETS (64 * PS_HIST_SUB)

/** Connection states, in the order a connection goes through them. */
enum ps__state {
	PS_IDLE,        /**< not yet started (waits for a handshake slot) */
	PS_CONNECTING,  /**< TCP connect in progress */
	PS_WAIT_CONNACK,
	PS_WAIT_SUBACK, /**< subscribers only */
	PS_READY,       /**< set up; publishers publish, subscribers receive */
	PS_CLOSED,
};

/** A growable byte buffer; bytes [off, len) are pending. */
struct ps__buf {
	uint8_t *p;
	size_t off;
	size_t len;
	size_t cap;
};

/** One client connection. Invariant: a subscriber has seen[] and hi[] for every publisher. */
struct ps__conn {
	int fd;
	int idx;              /**< subscriber or publisher number */
	bool is_pub;
	enum ps__state state;
	bool want_out;        /**< EPOLLOUT currently armed */
	struct mqtt_decoder dec;
	uint8_t *rbuf;        /**< the decoder's reassembly buffer */
	struct ps__buf tx;
	/* publisher */
	uint32_t sent;        /**< PUBLISH packets encoded so far */
	uint32_t acked;       /**< PUBACKs received (QoS 1) */
	uint16_t next_pid;
	/* subscriber */
	uint8_t **seen;       /**< per publisher: bitmap of n bits */
	int64_t *hi;          /**< per publisher: highest sequence seen, -1 before any */
};

/** Options (see usage()). */
struct ps__opts {
	const char *host;
	const char *port;
	int subs;
	int pubs;
	int qos;
	uint32_t msgs;
	uint32_t payload;
	int version;
	const char *topic;
	bool json;
	int window;
	double timeout_s;
	double quiet_s;
	bool persistent;  /**< -k: subscribers keep their sessions (clean 0 / expiry 3600) */
};

/** Everything one run measures. */
struct ps__stats {
	uint64_t deliveries;  /**< PUBLISH packets received by subscribers */
	uint64_t unique;      /**< first deliveries of a (subscriber, publisher, seq) */
	uint64_t dups;
	uint64_t reordered;   /**< first deliveries below the highest sequence already seen */
	uint64_t dropped_conns; /**< connections closed by the broker during the load */
	uint64_t hist[PS_HIST_BUCKETS];
	uint64_t lat_max;
	int64_t t_start;      /**< first PUBLISH encoded */
	int64_t t_pub_done;   /**< last PUBLISH written (QoS 0) or acknowledged (QoS 1) */
	int64_t t_last_rx;    /**< last delivery */
	int64_t t_setup;      /**< setup duration */
};

static struct ps__opts opt = {
	.port = "1883", .subs = 1, .pubs = 1, .qos = 0, .msgs = 10000,
	.payload = PS_PAYLOAD_MIN, .version = 4, .window = 64, .timeout_s = 60, .quiet_s = 2,
};
static struct ps__stats st;
static struct ps__conn *conns; /* subscribers first, then publishers */
static int n_conns;
static int epfd;
static struct sockaddr_storage peer;
static socklen_t peer_len;
static char topic_buf[128];

static int64_t ps__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void ps__die(int code, const char *fmt, const char *arg)
{
	fprintf(stderr, "tachyon-pubsub: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(code);
}

/* ---------------------------------------------------------------- latency histogram */

static unsigned ps__hist_idx(uint64_t v)
{
	if (v < PS_HIST_SUB)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* e >= 6 */
	unsigned sub = (unsigned)(v >> (e - 6)) & (PS_HIST_SUB - 1);
	return (e - 5) * PS_HIST_SUB + sub;
}

/* The value in the middle of bucket @p i (inverse of ps__hist_idx()). */
static uint64_t ps__hist_val(unsigned i)
{
	if (i < PS_HIST_SUB)
		return i;
	unsigned e = i / PS_HIST_SUB + 5, sub = i % PS_HIST_SUB;
	uint64_t lo = ((uint64_t)(PS_HIST_SUB + sub)) << (e - 6);
	return lo + (((uint64_t)1 << (e - 6)) >> 1);
}

static uint64_t ps__hist_pct(double pct)
{
	uint64_t total = 0, acc = 0;

	for (unsigned i = 0; i < PS_HIST_BUCKETS; i++)
		total += st.hist[i];
	if (total == 0)
		return 0;
	uint64_t want = (uint64_t)(pct / 100.0 * (double)total);
	if (want == 0)
		want = 1;
	for (unsigned i = 0; i < PS_HIST_BUCKETS; i++) {
		acc += st.hist[i];
		if (acc >= want)
			return ps__hist_val(i) < st.lat_max ? ps__hist_val(i) : st.lat_max;
	}
	return st.lat_max;
}

/* ---------------------------------------------------------------- buffers and I/O */

static void *ps__xalloc(size_t n)
{
	void *p = calloc(1, n);

	if (!p)
		ps__die(1, "out of memory%s", "");
	return p;
}

/* Room for @p n more bytes at the end of @p b (compacts before growing). */
static uint8_t *ps__buf_reserve(struct ps__buf *b, size_t n)
{
	if (b->off > 0 && b->off == b->len)
		b->off = b->len = 0;
	if (b->len + n > b->cap && b->off > 0) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			ps__die(1, "out of memory%s", "");
		b->cap = cap;
	}
	return b->p + b->len;
}

static void ps__arm(struct ps__conn *c, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c };

	if (c->want_out == out)
		return;
	c->want_out = out;
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Encode @p pkt at the end of @p c's transmit buffer. */
static void ps__queue(struct ps__conn *c, const struct mqtt_packet *pkt)
{
	size_t n = mqtt_encode_size((uint8_t)opt.version, pkt);

	if (n == 0)
		ps__die(1, "cannot encode a %s packet", mqtt_type_str(pkt->type));
	uint8_t *p = ps__buf_reserve(&c->tx, n);
	if (mqtt_encode((uint8_t)opt.version, pkt, p, n) != n)
		ps__die(1, "encoder disagrees with its size for %s", mqtt_type_str(pkt->type));
	c->tx.len += n;
}

/* Write what is pending. @return false if the connection failed. */
static bool ps__flush(struct ps__conn *c)
{
	while (c->tx.off < c->tx.len) {
		ssize_t w = send(c->fd, c->tx.p + c->tx.off, c->tx.len - c->tx.off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			if (errno == EINTR)
				continue;
			return false;
		}
		c->tx.off += (size_t)w;
	}
	c->tx.off = c->tx.len = 0;
	return true;
}

/* ---------------------------------------------------------------- setup */

static void ps__send_connect(struct ps__conn *c)
{
	char id[64];
	struct mqtt_packet p = { .type = MQTT_CONNECT };

	snprintf(id, sizeof(id), "tps-%d-%c%d", (int)getpid(), c->is_pub ? 'p' : 's', c->idx);
	p.connect.version = (uint8_t)opt.version;
	p.connect.clean_start = c->is_pub || !opt.persistent;
	if (!c->is_pub && opt.persistent && opt.version == 5) {
		MQTT_PROP_SET(&p.connect.props, MQTT_PROP_SESSION_EXPIRY);
		p.connect.props.session_expiry = 3600;
	}
	p.connect.keep_alive = 120;
	p.connect.client_id = (struct mqtt_str){ (const uint8_t *)id, (uint32_t)strlen(id) };
	ps__queue(c, &p);
	if (!c->is_pub) {
		/* Pipelined behind CONNECT: the broker handles them in order. */
		struct mqtt_sub s = {
			.filter = { (const uint8_t *)opt.topic, (uint32_t)strlen(opt.topic) },
			.qos = (uint8_t)opt.qos,
		};
		struct mqtt_packet sp = { .type = MQTT_SUBSCRIBE };
		sp.subscribe.packet_id = 1;
		sp.subscribe.subs = &s;
		sp.subscribe.count = 1;
		ps__queue(c, &sp);
	}
}

static void ps__start_conn(struct ps__conn *c)
{
	int fd = socket(peer.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		ps__die(2, "socket: %s", strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	if (connect(fd, (struct sockaddr *)&peer, peer_len) < 0 && errno != EINPROGRESS)
		ps__die(2, "connect: %s", strerror(errno));
	c->state = PS_CONNECTING;
	c->want_out = true;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
	size_t cap = opt.payload + strlen(opt.topic) + 256;
	c->rbuf = ps__xalloc(cap);
	mqtt_decoder_init(&c->dec, c->rbuf, (uint32_t)cap, 0, (uint8_t)opt.version);
	ps__send_connect(c);
}

/* ---------------------------------------------------------------- load */

static int ps__pubs_done; /* publishers whose every message was written (QoS 0) / acked */

/* Encode as many PUBLISH packets as the window and the buffer allow, then write. */
static bool ps__pub_pump(struct ps__conn *c)
{
	static uint8_t *payload; /* zeroed once; only the 16-byte header changes */
	struct mqtt_packet p = { .type = MQTT_PUBLISH };

	if (!payload)
		payload = ps__xalloc(opt.payload);
	p.publish.qos = (uint8_t)opt.qos;
	p.publish.topic = (struct mqtt_str){ (const uint8_t *)opt.topic, (uint32_t)strlen(opt.topic) };
	p.publish.payload = (struct mqtt_str){ payload, opt.payload };
	while (c->sent < opt.msgs && c->tx.len - c->tx.off < PS_PUB_TX_HIGH &&
	       (opt.qos == 0 || c->sent - c->acked < (uint32_t)opt.window)) {
		uint32_t id = (uint32_t)c->idx, seq = c->sent;
		int64_t t = ps__now();
		if (st.t_start == 0)
			st.t_start = t;
		memcpy(payload, &id, 4);
		memcpy(payload + 4, &seq, 4);
		memcpy(payload + 8, &t, 8);
		if (opt.qos) {
			if (++c->next_pid == 0)
				c->next_pid = 1;
			p.publish.packet_id = c->next_pid;
		}
		ps__queue(c, &p);
		c->sent++;
	}
	if (!ps__flush(c))
		return false;
	bool more = c->sent < opt.msgs && (opt.qos == 0 || c->sent - c->acked < (uint32_t)opt.window);
	ps__arm(c, more || c->tx.off < c->tx.len);
	if (opt.qos == 0 && c->sent == opt.msgs && c->tx.off == c->tx.len && !c->acked) {
		/* QoS 0 has no acknowledgement: "done" is when the kernel took the last byte.
		 * acked marks this publisher as counted. */
		c->acked = opt.msgs;
		if (++ps__pubs_done == opt.pubs)
			st.t_pub_done = ps__now();
	}
	return true;
}

static void ps__on_delivery(struct ps__conn *c, const struct mqtt_publish *m, int64_t now)
{
	uint32_t id, seq;
	int64_t t;

	st.deliveries++;
	st.t_last_rx = now;
	if (m->qos == 1) {
		struct mqtt_packet a = { .type = MQTT_PUBACK };
		a.ack.packet_id = m->packet_id;
		ps__queue(c, &a);
	}
	if (m->payload.len < PS_PAYLOAD_MIN)
		return;
	memcpy(&id, m->payload.p, 4);
	memcpy(&seq, m->payload.p + 4, 4);
	memcpy(&t, m->payload.p + 8, 8);
	if (id >= (uint32_t)opt.pubs || seq >= opt.msgs)
		return;
	uint8_t *bm = c->seen[id];
	if (bm[seq >> 3] & (1u << (seq & 7))) {
		st.dups++;
		return;
	}
	bm[seq >> 3] |= (uint8_t)(1u << (seq & 7));
	st.unique++;
	if ((int64_t)seq < c->hi[id])
		st.reordered++;
	else
		c->hi[id] = seq;
	uint64_t lat = now > t ? (uint64_t)(now - t) : 0;
	st.hist[ps__hist_idx(lat)]++;
	if (lat > st.lat_max)
		st.lat_max = lat;
}

/* ---------------------------------------------------------------- the event loop */

static int ps__ready_subs, ps__ready_pubs, ps__handshakes, ps__next_start;
static bool ps__loading;

static void ps__conn_failed(struct ps__conn *c, const char *why)
{
	if (c->state != PS_READY) {
		fprintf(stderr, "tachyon-pubsub: %s %d: %s during setup\n",
			c->is_pub ? "publisher" : "subscriber", c->idx, why);
		exit(2);
	}
	fprintf(stderr, "tachyon-pubsub: %s %d: %s during the load\n",
		c->is_pub ? "publisher" : "subscriber", c->idx, why);
	st.dropped_conns++;
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->state = PS_CLOSED;
}

/* Start handshakes up to the limit: subscribers first, publishers once all have SUBACKs. */
static void ps__start_more(void)
{
	while (ps__handshakes < PS_MAX_HANDSHAKES && ps__next_start < n_conns) {
		struct ps__conn *c = &conns[ps__next_start];
		if (c->is_pub && ps__ready_subs < opt.subs)
			return;
		ps__start_conn(c);
		ps__handshakes++;
		ps__next_start++;
	}
}

static void ps__became_ready(struct ps__conn *c)
{
	c->state = PS_READY;
	ps__handshakes--;
	if (c->is_pub)
		ps__ready_pubs++;
	else
		ps__ready_subs++;
	ps__start_more();
}

static bool ps__on_packet(struct ps__conn *c, const struct mqtt_packet *p, int64_t now)
{
	switch (p->type) {
	case MQTT_CONNACK:
		if (c->state != PS_WAIT_CONNACK || p->connack.rc != 0) {
			fprintf(stderr, "tachyon-pubsub: CONNACK refused: code 0x%02x\n",
				p->connack.rc);
			exit(2);
		}
		if (c->is_pub)
			ps__became_ready(c);
		else
			c->state = PS_WAIT_SUBACK;
		return true;
	case MQTT_SUBACK:
		if (c->state != PS_WAIT_SUBACK || p->suback.codes.len != 1 ||
		    p->suback.codes.p[0] >= 0x80) {
			fprintf(stderr, "tachyon-pubsub: SUBACK refused (code 0x%02x)\n",
				p->suback.codes.len ? p->suback.codes.p[0] : 0);
			exit(2);
		}
		ps__became_ready(c);
		return true;
	case MQTT_PUBLISH:
		if (c->is_pub)
			return true;
		ps__on_delivery(c, &p->publish, now);
		return true;
	case MQTT_PUBACK:
		if (c->is_pub) {
			c->acked++;
			if (c->acked == opt.msgs) {
				bool all = true;
				for (int i = opt.subs; i < n_conns; i++)
					all &= conns[i].acked == opt.msgs;
				if (all)
					st.t_pub_done = now;
			}
			if (ps__loading)
				return ps__pub_pump(c);
		}
		return true;
	case MQTT_DISCONNECT:
		ps__conn_failed(c, "DISCONNECT from the broker");
		return false;
	default:
		return true;
	}
}

static void ps__on_readable(struct ps__conn *c)
{
	static uint8_t rx[1 << 18];
	int64_t now = ps__now();

	for (;;) {
		ssize_t r = recv(c->fd, rx, sizeof(rx), 0);
		if (r == 0) {
			ps__conn_failed(c, "connection closed by the broker");
			return;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ps__conn_failed(c, strerror(errno));
			break;
		}
		const uint8_t *d = rx;
		size_t len = (size_t)r;
		while (len > 0) {
			struct mqtt_packet p;
			int rc = mqtt_decoder_feed(&c->dec, &d, &len, &p);
			if (rc == MQTT_NEED_MORE)
				break;
			if (rc != MQTT_OK) {
				ps__conn_failed(c, mqtt_reason_str((uint8_t)rc));
				return;
			}
			if (!ps__on_packet(c, &p, now))
				return;
		}
		if ((size_t)r < sizeof(rx))
			break;
	}
	/* Subscribers' PUBACKs. */
	if (c->state != PS_CLOSED && !c->is_pub && c->tx.off < c->tx.len) {
		if (!ps__flush(c))
			ps__conn_failed(c, strerror(errno));
		else
			ps__arm(c, c->tx.off < c->tx.len);
	}
}

static void ps__on_writable(struct ps__conn *c)
{
	if (c->state == PS_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			errno = err;
			ps__conn_failed(c, strerror(err));
		}
		c->state = PS_WAIT_CONNACK;
	}
	if (c->is_pub && ps__loading && c->state == PS_READY) {
		if (!ps__pub_pump(c))
			ps__conn_failed(c, strerror(errno));
		return;
	}
	if (!ps__flush(c)) {
		ps__conn_failed(c, strerror(errno));
		return;
	}
	ps__arm(c, c->tx.off < c->tx.len);
}

/* Resolve host:port into peer. */
static void ps__resolve(void)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int rc = getaddrinfo(opt.host, opt.port, &hints, &ai);

	if (rc != 0)
		ps__die(2, "cannot resolve: %s", gai_strerror(rc));
	memcpy(&peer, ai->ai_addr, ai->ai_addrlen);
	peer_len = ai->ai_addrlen;
	freeaddrinfo(ai);
}

static void ps__usage(void)
{
	fprintf(stderr,
		"usage: tachyon-pubsub -h HOST [-p PORT] [-s SUBS] [-P PUBS] [-q 0|1] [-n MSGS_PER_PUB]\n"
		"         [-z PAYLOAD_BYTES] [-V 4|5] [-t TOPIC] [-w WINDOW] [-T TIMEOUT_S]\n"
		"         [-Q QUIET_S] [-k] [--json]\n"
		"  -k: persistent subscriber sessions (durable: logged when persistence is on)\n"
		"  S subscribers subscribe to TOPIC at QoS q; P publishers each send n messages of\n"
		"  z bytes (>= %d) at QoS q (QoS 1: at most WINDOW unacknowledged, default 64).\n"
		"  Prints publish rate, deliveries/s, lost, duplicates and latency percentiles.\n",
		PS_PAYLOAD_MIN);
	exit(1);
}

static void ps__parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "h:p:s:P:q:n:z:V:t:w:T:Q:k", lo, NULL)) != -1) {
		switch (ch) {
		case 'h': opt.host = optarg; break;
		case 'k': opt.persistent = true; break;
		case 'p': opt.port = optarg; break;
		case 's': opt.subs = atoi(optarg); break;
		case 'P': opt.pubs = atoi(optarg); break;
		case 'q': opt.qos = atoi(optarg); break;
		case 'n': opt.msgs = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'z': opt.payload = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'V': opt.version = atoi(optarg); break;
		case 't': opt.topic = optarg; break;
		case 'w': opt.window = atoi(optarg); break;
		case 'T': opt.timeout_s = atof(optarg); break;
		case 'Q': opt.quiet_s = atof(optarg); break;
		case 'j': opt.json = true; break;
		default: ps__usage();
		}
	}
	if (!opt.host || opt.subs < 1 || opt.pubs < 1 || opt.qos < 0 || opt.qos > 1 ||
	    opt.msgs < 1 || opt.payload < PS_PAYLOAD_MIN || opt.payload > (1u << 20) ||
	    (opt.version != 4 && opt.version != 5) || opt.window < 1 || opt.window > 65535 ||
	    opt.timeout_s <= 0 || opt.quiet_s <= 0 || optind != argc)
		ps__usage();
	if (!opt.topic) {
		snprintf(topic_buf, sizeof(topic_buf), "bench/pubsub/%d", (int)getpid());
		opt.topic = topic_buf;
	}
	if ((double)opt.subs * opt.pubs * (opt.msgs / 8.0 + 1) > PS_MAX_BITMAP_BYTES)
		ps__die(1, "S * P * n too large for duplicate tracking%s", "");
}

/* ---------------------------------------------------------------- report */

static void ps__report(int code, bool timed_out)
{
	uint64_t expected = (uint64_t)opt.subs * opt.pubs * opt.msgs;
	uint64_t published = 0;
	for (int i = opt.subs; i < n_conns; i++)
		published += conns[i].sent;
	int64_t end = st.t_last_rx ? st.t_last_rx : ps__now();
	double span = st.t_start ? (double)(end - st.t_start) / 1e9 : 0;
	/* Publishers cut short (global timeout) are rated up to now. */
	int64_t pub_end = st.t_pub_done ? st.t_pub_done : ps__now();
	double pub_span = st.t_start ? (double)(pub_end - st.t_start) / 1e9 : 0;
	double deliv_rate = span > 0 ? (double)st.unique / span : 0;
	double pub_rate = pub_span > 0 ? (double)published / pub_span : 0;
	uint64_t lost = expected > st.unique ? expected - st.unique : 0;
	double p50 = (double)ps__hist_pct(50) / 1e3, p99 = (double)ps__hist_pct(99) / 1e3;
	double pmax = (double)st.lat_max / 1e3;

	if (opt.json) {
		printf("{\"host\":\"%s\",\"port\":%s,\"subs\":%d,\"pubs\":%d,\"qos\":%d,"
		       "\"msgs_per_pub\":%u,\"payload\":%u,\"version\":%d,\"window\":%d,"
		       "\"setup_s\":%.3f,\"published\":%" PRIu64 ",\"publish_rate\":%.1f,"
		       "\"expected\":%" PRIu64 ",\"deliveries\":%" PRIu64 ",\"unique\":%" PRIu64
		       ",\"lost\":%" PRIu64 ",\"dups\":%" PRIu64 ",\"reordered\":%" PRIu64
		       ",\"duration_s\":%.4f,\"deliveries_per_s\":%.1f,\"lat_p50_us\":%.1f,"
		       "\"lat_p99_us\":%.1f,\"lat_max_us\":%.1f,\"dropped_conns\":%" PRIu64
		       ",\"timed_out\":%s,\"exit\":%d}\n",
		       opt.host, opt.port, opt.subs, opt.pubs, opt.qos, opt.msgs, opt.payload,
		       opt.version, opt.window, (double)st.t_setup / 1e9, published, pub_rate,
		       expected, st.deliveries, st.unique, lost, st.dups, st.reordered, span,
		       deliv_rate, p50, p99, pmax, st.dropped_conns, timed_out ? "true" : "false",
		       code);
	} else {
		printf("%s:%s  %d pub -> %d sub, QoS %d, %u msgs/pub, %u B, MQTT v%s\n",
		       opt.host, opt.port, opt.pubs, opt.subs, opt.qos, opt.msgs, opt.payload,
		       opt.version == 5 ? "5" : "3.1.1");
		printf("  setup       %.3f s\n", (double)st.t_setup / 1e9);
		printf("  published   %" PRIu64 " in %.3f s: %.0f msgs/s\n", published, pub_span,
		       pub_rate);
		printf("  delivered   %" PRIu64 " of %" PRIu64 " in %.3f s: %.0f msgs/s\n",
		       st.unique, expected, span, deliv_rate);
		printf("  lost %" PRIu64 "  duplicates %" PRIu64 "  reordered %" PRIu64
		       "  dropped connections %" PRIu64 "%s\n",
		       lost, st.dups, st.reordered, st.dropped_conns,
		       timed_out ? "  (global timeout)" : "");
		printf("  latency     p50 %.0f us  p99 %.0f us  max %.0f us\n", p50, p99, pmax);
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct rlimit rl;

	ps__parse(argc, argv);
	ps__resolve();
	/* One descriptor per client: 1000 subscribers exceed the usual soft limit of 1024. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	n_conns = opt.subs + opt.pubs;
	conns = ps__xalloc(sizeof(*conns) * (size_t)n_conns);
	for (int i = 0; i < n_conns; i++) {
		struct ps__conn *c = &conns[i];
		c->fd = -1;
		c->is_pub = i >= opt.subs;
		c->idx = c->is_pub ? i - opt.subs : i;
		if (!c->is_pub) {
			c->seen = ps__xalloc(sizeof(*c->seen) * (size_t)opt.pubs);
			c->hi = ps__xalloc(sizeof(*c->hi) * (size_t)opt.pubs);
			for (int p = 0; p < opt.pubs; p++) {
				c->seen[p] = ps__xalloc(opt.msgs / 8 + 1);
				c->hi[p] = -1;
			}
		}
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		ps__die(2, "epoll: %s", strerror(errno));

	int64_t t0 = ps__now();
	int64_t deadline = t0 + (int64_t)(opt.timeout_s * 1e9);
	int64_t quiet = (int64_t)(opt.quiet_s * 1e9);
	uint64_t expected = (uint64_t)opt.subs * opt.pubs * opt.msgs;
	struct epoll_event evs[256];
	int code = 0;
	bool timed_out = false;

	ps__start_more();
	for (;;) {
		int64_t now = ps__now();
		if (now >= deadline) {
			timed_out = true;
			if (!ps__loading) {
				fprintf(stderr, "tachyon-pubsub: setup incomplete after %g s "
					"(%d/%d subscribers, %d/%d publishers ready)\n", opt.timeout_s,
					ps__ready_subs, opt.subs, ps__ready_pubs, opt.pubs);
				code = 4;
			}
			break;
		}
		if (!ps__loading && ps__ready_subs == opt.subs && ps__ready_pubs == opt.pubs) {
			ps__loading = true;
			st.t_setup = now - t0;
			for (int i = opt.subs; i < n_conns; i++)
				if (!ps__pub_pump(&conns[i]))
					ps__conn_failed(&conns[i], strerror(errno));
		}
		if (ps__loading) {
			/* Every delivery, and every publisher done: a broker may forward a message
			 * before it acknowledges it to the publisher. */
			if (st.unique >= expected && st.t_pub_done)
				break;
			bool pubs_done = st.t_pub_done != 0;
			int64_t last = st.t_last_rx > st.t_start ? st.t_last_rx : st.t_start;
			/* Quiet timeout: only once publishers are done, so a slow publish phase is
			 * never mistaken for an idle broker. */
			if (pubs_done && now - last > quiet && now - st.t_pub_done > quiet)
				break;
			if (st.dropped_conns && now - last > quiet)
				break;
		}
		int n = epoll_wait(epfd, evs, 256, 50);
		for (int i = 0; i < n; i++) {
			struct ps__conn *c = evs[i].data.ptr;
			if (c->state == PS_CLOSED)
				continue;
			if (evs[i].events & (EPOLLOUT | EPOLLERR))
				ps__on_writable(c);
			if (c->state != PS_CLOSED && (evs[i].events & (EPOLLIN | EPOLLHUP)))
				ps__on_readable(c);
		}
	}
	if (code == 0 && st.dropped_conns)
		code = 3;
	ps__report(code, timed_out);

	/* Polite goodbye: DISCONNECT, so neither broker logs unexpected closes. */
	for (int i = 0; i < n_conns; i++) {
		struct ps__conn *c = &conns[i];
		if (c->fd < 0 || c->state == PS_CLOSED)
			continue;
		struct mqtt_packet d = { .type = MQTT_DISCONNECT };
		c->tx.off = c->tx.len = 0;
		ps__queue(c, &d);
		ps__flush(c);
		close(c->fd);
	}
	return code;
}
