/**
 * @file test_brk_shared_destroy.c
 * brk_shared_destroy() from an online QSBR thread while the session registry still has a
 * resize in flight: what stopping tachyond after a million clients looks like (their
 * sessions leave the registry, it shrinks, and the main lcore destroys it at once). The
 * registry's destroy waits for the resize, and the resize for a grace period; with the
 * caller online that grace period never came and stopping hung for good. An alarm turns a
 * hang into a failure.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <urcu-qsbr.h>
#include <urcu/rculfhash.h>

#include "broker/brk_int.h"
#include "conf/conf.h"

static void hung(int sig)
{
	(void)sig;
	static const char msg[] = "FAIL: brk_shared_destroy hung (a resize waiting for a grace "
				  "period that this online thread holds up)\n";
	ssize_t r = write(2, msg, sizeof(msg) - 1);
	(void)r;
	_exit(1);
}

static int match_node(struct cds_lfht_node *n, const void *key)
{
	return n == key;
}

int main(void)
{
	signal(SIGALRM, hung);
	rcu_register_thread();
	struct tachyon_config cfg;
	conf_defaults(&cfg);
	int rounds = 20;
	for (int r = 0; r < rounds; r++) {
		struct brk_shared *sh = brk_shared_create(&cfg, 1, 1000000000ull);
		if (sh == NULL) {
			fprintf(stderr, "FAIL: brk_shared_create\n");
			return 1;
		}
		/* Grow the registry, then empty it: the shrink is queued to the resize worker. */
		enum { N = 100000 };
		struct cds_lfht_node *nodes = calloc(N, sizeof(*nodes));
		if (nodes == NULL)
			return 1;
		for (unsigned i = 0; i < N; i++) {
			cds_lfht_node_init(&nodes[i]);
			cds_lfht_add(sh->reg, (unsigned long)i * 2654435761u, &nodes[i]);
		}
		rcu_quiescent_state();
		for (unsigned i = 0; i < N; i++) {
			struct cds_lfht_iter it;
			cds_lfht_lookup(sh->reg, (unsigned long)i * 2654435761u, match_node, &nodes[i],
					&it);
			struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
			if (n == NULL || cds_lfht_del(sh->reg, n) != 0) {
				fprintf(stderr, "FAIL: node %u not in the registry\n", i);
				return 1;
			}
		}
		alarm(30);
		brk_shared_destroy(sh); /* online, a resize likely in flight */
		alarm(0);
		/* The nodes were unlinked before the destroy's grace periods: free to go. */
		free(nodes);
	}
	rcu_unregister_thread();
	printf("ok: %d registries destroyed right after emptying them\n", rounds);
	return 0;
}
