/**
 * @file test_takeover_mt.c
 * Session takeover under real concurrency: two threads, each acting as one broker worker,
 * connect and drop clients that share a few identifiers, as fast as they can, with the
 * cross-worker messages going through mutex-protected inboxes. Checks, under ASan/UBSan in
 * the sanitizer build: no crash or leak, every CONNECT is answered (CONNACK) or its
 * connection closed, and at the end at most one connection per identifier is connected.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/brk.h"
#include "conf/conf.h"
#include "mqtt/mqtt.h"

#define NW 2
#define NIDS 4
#define ROUNDS 20000
#define MAXC 64

struct inbox {
	pthread_mutex_t mu;
	struct brk_xmsg *v;
	size_t n, cap;
};

struct tconn {
	struct brk_conn *c;
	int id;
	bool closed, connacked, lost;
	size_t bytes;
	uint8_t buf[256];
};

static struct brk_shared *sh;
static struct brk_worker *workers[NW];
static struct inbox inboxes[NW];
static atomic_int phase;      /* 0 run, 1 drain, 2 done */
static atomic_int idle_votes;
static atomic_int pending;    /* messages posted and not yet fully handled */
static atomic_int x_takeovers;
static pthread_barrier_t start_line; /* both workers begin together: real overlap */ /* TAKEOVER messages: cross-worker takeovers attempted */
static int failures;

static int post(void *ctx, unsigned to, const struct brk_xmsg *m)
{
	(void)ctx;
	struct inbox *ib = &inboxes[to];
	pthread_mutex_lock(&ib->mu);
	if (ib->n == ib->cap) {
		ib->cap = ib->cap ? ib->cap * 2 : 64;
		ib->v = realloc(ib->v, ib->cap * sizeof(*ib->v));
	}
	ib->v[ib->n++] = *m;
	atomic_fetch_add(&pending, 1);
	if (m->type == BRK_X_TAKEOVER)
		atomic_fetch_add(&x_takeovers, 1);
	pthread_mutex_unlock(&ib->mu);
	return 0;
}

static size_t drain(unsigned w)
{
	struct inbox *ib = &inboxes[w];
	pthread_mutex_lock(&ib->mu);
	size_t n = ib->n;
	struct brk_xmsg *v = NULL;
	if (n) {
		v = malloc(n * sizeof(*v));
		memcpy(v, ib->v, n * sizeof(*v));
		ib->n = 0;
	}
	pthread_mutex_unlock(&ib->mu);
	for (size_t i = 0; i < n; i++) {
		brk_worker_receive(workers[w], &v[i]);
		/* After handling: what it posted was counted first, so 0 means all quiet. */
		atomic_fetch_sub(&pending, 1);
	}
	free(v);
	return n;
}

static int t_send(void *tctx, const uint8_t *head, uint32_t len, struct brk_msg *msg)
{
	struct tconn *t = tctx;
	(void)msg;
	if (!t->connacked && len >= 2 && head[0] == 0x20)
		t->connacked = true;
	t->bytes += len;
	return 0;
}

static void t_close(void *tctx)
{
	((struct tconn *)tctx)->closed = true;
}

static void t_resume(void *tctx)
{
	(void)tctx;
}

static const struct brk_conn_ops ops = { t_send, t_close, t_resume };

static void *run(void *arg)
{
	unsigned w = (unsigned)(uintptr_t)arg;
	rcu_register_thread();
	struct tconn *conns[MAXC] = { 0 };
	unsigned seed = 12345u + w;
	struct brk_listener lst = { .port = 1883, .max_connections = -1, .max_topic_alias = 10,
				    .allow_zero_length_clientid = true };
	uint64_t now = 1000000000ull;
	rcu_thread_offline();
	pthread_barrier_wait(&start_line);
	rcu_thread_online();
	for (int r = 0; r < ROUNDS; r++) {
		int k = rand_r(&seed) % MAXC;
		struct tconn *t = conns[k];
		if (t == NULL) {
			t = calloc(1, sizeof(*t));
			t->id = rand_r(&seed) % NIDS;
			t->c = brk_conn_open(workers[w], &ops, t, &lst, now);
			char id[16];
			snprintf(id, sizeof(id), "id%d", t->id);
			struct mqtt_packet p;
			memset(&p, 0, sizeof(p));
			p.type = MQTT_CONNECT;
			p.connect.version = (rand_r(&seed) & 1) ? MQTT_V5 : MQTT_V311;
			p.connect.clean_start = rand_r(&seed) & 1;
			p.connect.keep_alive = 60;
			p.connect.client_id.p = (const uint8_t *)id;
			p.connect.client_id.len = (uint32_t)strlen(id);
			if (p.connect.version == MQTT_V5) {
				MQTT_PROP_SET(&p.connect.props, MQTT_PROP_SESSION_EXPIRY);
				p.connect.props.session_expiry = rand_r(&seed) % 3;
			}
			uint8_t buf[128];
			size_t n = mqtt_encode(p.connect.version, &p, buf, sizeof(buf));
			struct mqtt_packet d;
			mqtt_decode(0, buf, n, &d);
			if (brk_conn_packet(t->c, &d, (uint32_t)n) == BRK_CONTINUE &&
			    (rand_r(&seed) & 3) == 0) {
				/* subscribe something, so that state moves with takeovers */
				struct mqtt_sub e = { .filter = { (const uint8_t *)"x/#", 3 }, .qos = 1 };
				struct mqtt_packet s;
				memset(&s, 0, sizeof(s));
				s.type = MQTT_SUBSCRIBE;
				s.flags = 2;
				s.subscribe.packet_id = 1;
				s.subscribe.subs = &e;
				s.subscribe.count = 1;
				n = mqtt_encode(p.connect.version, &s, buf, sizeof(buf));
				mqtt_decode(p.connect.version, buf, n, &d);
				brk_conn_packet(t->c, &d, (uint32_t)n);
			}
			conns[k] = t;
		} else if (t->closed) {
			free(t);
			conns[k] = NULL;
		} else if (rand_r(&seed) & 1) {
			brk_conn_lost(t->c);
			free(t);
			conns[k] = NULL;
		}
		drain(w);
		if ((r & 7) == 0)
			sched_yield(); /* let the other worker in even on a busy box */
		now += 1000000;
		brk_worker_tick(workers[w], now);
		rcu_quiescent_state();
	}
	/* Drain until both workers are done and no message is queued or being handled. */
	atomic_fetch_add(&idle_votes, 1);
	while (atomic_load(&idle_votes) < NW || atomic_load(&pending) != 0) {
		drain(w);
		rcu_quiescent_state();
	}
	/* Every connection that is not closed has its CONNACK: no one is left waiting. */
	for (int k = 0; k < MAXC; k++) {
		struct tconn *t = conns[k];
		if (t != NULL && !t->closed && !t->connacked) {
			fprintf(stderr, "worker %u: connection %d (id%d) never answered\n", w, k, t->id);
			__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
		}
	}
	/* Report connected identifiers through a shared table. */
	static int online[NIDS];
	for (int k = 0; k < MAXC; k++) {
		struct tconn *t = conns[k];
		if (t != NULL && !t->closed && t->connacked)
			__atomic_fetch_add(&online[t->id], 1, __ATOMIC_RELAXED);
	}
	atomic_fetch_add(&phase, 1);
	while (atomic_load(&phase) < NW)
		rcu_quiescent_state();
	if (w == 0)
		for (int i = 0; i < NIDS; i++)
			if (online[i] > 1) {
				fprintf(stderr, "id%d connected %d times\n", i, online[i]);
				__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
			}
	for (int k = 0; k < MAXC; k++) {
		struct tconn *t = conns[k];
		if (t == NULL)
			continue;
		if (!t->closed)
			brk_conn_lost(t->c);
		free(t);
	}
	/* Last messages (takeovers of sessions being dropped) may cross once more. */
	atomic_fetch_add(&phase, 1);
	for (int i = 0; i < 5000 || atomic_load(&phase) < 2 * NW; i++) {
		drain(w);
		rcu_quiescent_state();
	}
	atomic_fetch_add(&phase, 1);
	while (atomic_load(&phase) < 3 * NW) {
		drain(w);
		rcu_quiescent_state();
	}
	drain(w);
	rcu_unregister_thread();
	return NULL;
}

int main(void)
{
	rcu_register_thread();
	struct tachyon_config cfg;
	conf_defaults(&cfg);
	cfg.sys_interval = 0;
	sh = brk_shared_create(&cfg, NW, 1000000000ull);
	struct brk_worker_ops wo = { .post = post, .ctx = NULL };
	for (unsigned i = 0; i < NW; i++) {
		pthread_mutex_init(&inboxes[i].mu, NULL);
		workers[i] = brk_worker_create(sh, i, &wo);
	}
	rcu_thread_offline();
	pthread_barrier_init(&start_line, NULL, NW);
	pthread_t th[NW];
	for (unsigned i = 0; i < NW; i++)
		pthread_create(&th[i], NULL, run, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < NW; i++)
		pthread_join(th[i], NULL);
	rcu_thread_online();
	struct brk_counters k;
	brk_shared_counters(sh, &k);
	printf("connects %lu, takeovers %lu, cross-worker takeover messages %d\n",
	       (unsigned long)k.connects, (unsigned long)k.takeovers, atomic_load(&x_takeovers));
	if (atomic_load(&x_takeovers) < 50) {
		fprintf(stderr, "too few takeovers to mean anything\n");
		failures++;
	}
	for (unsigned i = 0; i < NW; i++) {
		drain(i);
		brk_worker_destroy(workers[i]);
	}
	for (unsigned i = 0; i < NW; i++) {
		/* posts made while destroying (nothing should be left; free refs if any) */
		for (size_t k = 0; k < inboxes[i].n; k++)
			if (inboxes[i].v[k].msg != NULL)
				brk_msg_unref(inboxes[i].v[k].msg);
		free(inboxes[i].v);
	}
	brk_shared_destroy(sh);
	rcu_barrier();
	rcu_unregister_thread();
	if (failures) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	printf("takeover-mt: ok\n");
	return 0;
}
