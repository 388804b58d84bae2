/**
 * @file dp_test.h
 * Shared by the dataplane unit tests: a CHECK that counts failures, and the EAL started
 * the way in-process tests start it (no hugepages, no PCI, one lcore, a file prefix of its
 * own so that parallel tests do not meet).
 */
#ifndef TACHYON_TEST_DP_TEST_H
#define TACHYON_TEST_DP_TEST_H

#include <stdio.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

static int failures;
#define CHECK(c)                                                                             \
	do {                                                                                 \
		if (!(c)) {                                                                  \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);         \
			failures++;                                                          \
		}                                                                            \
	} while (0)

/** rte_eal_init with @p memory_mb of memory. @return 0, or -1 (said on stderr). */
static inline int dp_test_eal(const char *name, const char *memory_mb)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "tt-%s-%d", name, (int)getpid());
	char *argv[] = { "test", "--no-huge", "-m", (char *)memory_mb, "--no-pci", "-l", "0",
			 "--log-level=warning", "--file-prefix", prefix, NULL };
	if (rte_eal_init(10, argv) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

#endif
