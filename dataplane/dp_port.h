/**
 * @file dp_port.h
 * Start-up of the runtime's DPDK side, on the main lcore: EAL arguments from the config and
 * rte_eal_init (dp_eal_start), then the port: one RX/TX queue pair per worker, offloads the
 * NIC has, rx interrupts when available, and for the embedded default the net_tap port whose
 * kernel side gets an address (dp_port_*).
 *
 * The embedded default: EAL --no-huge -m <memory_mb> --no-pci --vdev=net_tap0,iface=<tap_name>;
 * a memif link to another DPDK process on this host (tachyon-loadgen):
 * --no-pci --vdev=net_memif0,role=<memif_role>,socket=<memif_socket>;
 * real NICs: -a <pci_device> with hugepages. eal_args from the config are appended last, so
 * they can override what came before.
 *
 * Error convention: functions return 0 on success and -1 on error with a message for the
 * operator (what failed and the likely cause) in the caller's err buffer. (The worker-level
 * functions of dp_worker.h / dp_l4.h return a negative errno instead: their failures are
 * resource errors that tachyond's main words for the operator itself.)
 *
 * Thread-safety: main lcore only, before the workers start (dp_port_close after they stop).
 */
#ifndef TACHYON_DP_PORT_H
#define TACHYON_DP_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>

struct rte_mempool;
struct tachyon_config;

#define DP_RX_DESC 1024 /**< RX descriptors per queue */
#define DP_TX_DESC 1024 /**< TX descriptors per queue */

/** The vdev name of the embedded default's tap port. */
#define DP_TAP_VDEV "net_tap0"
/** The vdev name of the net_memif port (config `memif_socket`). */
#define DP_MEMIF_VDEV "net_memif0"

/**
 * Build the EAL argument list from @p cfg, run rte_eal_init, and check that it gave the main
 * lcore plus cfg->workers worker lcores. Checks first what commonly makes it fail (not root,
 * no /dev/net/tun for the tap port) to say so plainly.
 * @return 0, or -1 with the reason in @p err (EAL's own diagnostics go to stderr before).
 */
int dp_eal_start(const struct tachyon_config *cfg, char *err, size_t errlen);

/**
 * The EAL arguments dp_eal_start would use, written to @p buf as one line (for logs and
 * tests). @return 0, or -1 if @p buf is too small.
 */
int dp_eal_args_string(const struct tachyon_config *cfg, char *buf, size_t len);

/** A started port. */
struct dp_port {
	uint16_t port_id;
	char name[64];                 /**< ethdev name ("net_tap0", "0000:01:00.0") */
	char driver[32];               /**< PMD name ("net_tap", "net_ice") */
	bool is_tap;                   /**< the embedded default's tap port */
	bool is_memif;                 /**< a net_memif port (config memif_socket) */
	char tap_name[16];             /**< kernel interface of the tap ("tachyon0") */
	struct rte_ether_addr mac;     /**< our MAC on this port */
	uint16_t n_queues;             /**< RX/TX queue pairs, one per worker */
	uint64_t rx_offloads;          /**< RTE_ETH_RX_OFFLOAD_* enabled */
	uint64_t tx_offloads;          /**< RTE_ETH_TX_OFFLOAD_* enabled */
	bool rx_intr;                  /**< rx queue interrupts configured (epoll wake-ups) */
	bool started;
};

/**
 * Find the port (the tap vdev, or the one PCI device), configure @p n_queues queue pairs
 * (queue q takes its mbufs from pools[q]), enable the checksum offloads the device has,
 * request rx interrupts (falling back to none if the PMD refuses), set the MTU, start it.
 * For the tap, also give the kernel side cfg->tap_kernel_ip/prefix_len and bring it up.
 * @return 0, or -1 with the reason in @p err.
 */
int dp_port_open(struct dp_port *p, const struct tachyon_config *cfg,
		 struct rte_mempool *const *pools, uint16_t n_queues, char *err, size_t errlen);

/**
 * Stop and close the port. For the tap this removes the kernel interface (the PMD closes its
 * queue fds, and a non-persistent tun device goes with its last fd). Safe on a port that was
 * never opened (zeroed struct).
 */
void dp_port_close(struct dp_port *p);

#endif /* TACHYON_DP_PORT_H */
