/**
 * @file test_dp_ctl.c
 * Control-core requests to the workers (dataplane/dp_ctl.c) without DPDK: the inbox post is
 * a stub that keeps the request, the workers are lib/broker workers over the fake transport
 * (tests/lib/broker/brk_fake.h). Checks the bounded wait (a worker that answers late gives a
 * timeout after the deadline, not a hang), that a late answer frees the request (ASan: no
 * leak, no use after free), a wake-up by a worker thread's eventfd write, a refused post,
 * and the records of a `clients` request.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "brk_fake.h"
#include "dp_ctl.h"
#include "dp_mqtt.h"

/* ---- stubs of dp_mqtt.c ---- */

static struct dp_ctl_req *posted[FK_WORKERS];
static int refuse_worker = -1;

int dp_mqtt_post_ctl(unsigned worker, void *req)
{
	if ((int)worker == refuse_worker)
		return -ENOBUFS;
	posted[worker] = req;
	return 0;
}

int dp_mqtt_peer(void *tctx, char *buf, size_t len)
{
	(void)tctx;
	snprintf(buf, len, "192.0.2.1:1234");
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_all_answer(struct fk_bench *b)
{
	struct dp_ctl_req *r = dp_ctl_req_new(DP_CTL_CLIENTS, 2);
	CHECK(r != NULL);
	CHECK(dp_ctl_post(r, 0) == 0 && dp_ctl_post(r, 1) == 0);
	dp_ctl_handle(posted[1], b->w[1], 1);
	dp_ctl_handle(posted[0], b->w[0], 0);
	double t0 = now_s();
	CHECK(dp_ctl_wait(r, 1000) == 0);
	CHECK(now_s() - t0 < 0.5);
	CHECK(dp_ctl_part_done(r, 0) && dp_ctl_part_done(r, 1));
	CHECK(r->part[0].n == 1 && strcmp(r->part[0].recs[0].key, "c0") == 0);
	CHECK(r->part[1].n == 1 && strcmp(r->part[1].recs[0].key, "c1") == 0);
	CHECK(strstr(r->part[1].recs[0].json, "\"address\":\"192.0.2.1:1234\"") != NULL);
	dp_ctl_req_put(r);
}

static void test_late_worker(struct fk_bench *b)
{
	struct dp_ctl_req *r = dp_ctl_req_new(DP_CTL_CLIENTS, 2);
	CHECK(r != NULL);
	CHECK(dp_ctl_post(r, 0) == 0 && dp_ctl_post(r, 1) == 0);
	dp_ctl_handle(posted[0], b->w[0], 0);
	double t0 = now_s();
	CHECK(dp_ctl_wait(r, 200) == 1);   /* worker 1 is "stuck" */
	double took = now_s() - t0;
	CHECK(took >= 0.19 && took < 1.0);
	CHECK(dp_ctl_part_done(r, 0) && !dp_ctl_part_done(r, 1));
	dp_ctl_req_put(r);                 /* the control core gives up */
	dp_ctl_handle(posted[1], b->w[1], 1); /* the late answer frees it */
}

struct late {
	struct fk_bench *b;
	struct dp_ctl_req *r;
};

static void *answer_later(void *arg)
{
	struct late *l = arg;
	rcu_register_thread();
	struct timespec ts = { 0, 50 * 1000000 };
	nanosleep(&ts, NULL);
	dp_ctl_handle(l->r, l->b->w[1], 1);
	rcu_unregister_thread();
	return NULL;
}

static void test_woken_by_worker(struct fk_bench *b)
{
	struct dp_ctl_req *r = dp_ctl_req_new(DP_CTL_CLIENTS, 2);
	CHECK(r != NULL);
	CHECK(dp_ctl_post(r, 1) == 0);
	struct late l = { b, posted[1] };
	pthread_t th;
	rcu_thread_offline(); /* the other thread acts as worker 1 meanwhile */
	CHECK(pthread_create(&th, NULL, answer_later, &l) == 0);
	double t0 = now_s();
	unsigned left = dp_ctl_wait(r, 5000);
	double took = now_s() - t0;
	pthread_join(th, NULL);
	rcu_thread_online();
	CHECK(left == 0 && took < 2.0);
	CHECK(r->part[1].n == 1 && !dp_ctl_part_done(r, 0));
	dp_ctl_req_put(r);
}

static void test_refused_post(struct fk_bench *b)
{
	(void)b;
	struct dp_ctl_req *r = dp_ctl_req_new(DP_CTL_KICK, 2);
	CHECK(r != NULL);
	r->id = strdup("nobody");
	refuse_worker = 1;
	CHECK(dp_ctl_post(r, 1) == -ENOBUFS);
	refuse_worker = -1;
	CHECK(dp_ctl_post(r, 5) == -EINVAL);
	CHECK(dp_ctl_wait(r, 1000) == 0); /* nothing posted: nothing to wait for */
	dp_ctl_req_put(r);                /* the last reference: freed */
}

int main(void)
{
	rcu_register_thread();
	struct fk_bench b;
	fk_bench_init(&b, 2, NULL);
	struct fk_conn *c0 = fk_client(&b, 0, MQTT_V311, "c0", true);
	struct fk_conn *c1 = fk_client(&b, 1, MQTT_V5, "c1", true);
	test_all_answer(&b);
	test_late_worker(&b);
	test_woken_by_worker(&b);
	test_refused_post(&b);
	fk_free(c0);
	fk_free(c1);
	fk_bench_fini(&b);
	rcu_unregister_thread();
	if (fk_fail) {
		fprintf(stderr, "%d check(s) failed\n", fk_fail);
		return 1;
	}
	printf("dp-ctl: all tests passed\n");
	return 0;
}
