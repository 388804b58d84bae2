/**
 * @file dp_port.c
 * Port set-up and tear-down (see dp_port.h): queues, offloads, rx interrupts, and the kernel
 * side of the embedded default's tap (address, netmask, up) through ioctls, not a shell.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "conf/conf.h"
#include "dp_port.h"
#include "util/log.h"

/* Offloads we use when the device has them: checksums (TCP may leave its checksum to the
 * NIC) and chained mbufs on TX (zero-copy fan-out chains shared payload segments). */
#define DP__RX_OFFLOADS (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM)
#define DP__TX_OFFLOADS (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM | \
			 RTE_ETH_TX_OFFLOAD_MULTI_SEGS)

static int dp__ifreq_ioctl(int fd, unsigned long req, struct ifreq *ifr, const char *what,
			   char *err, size_t errlen)
{
	if (ioctl(fd, req, ifr) == 0)
		return 0;
	snprintf(err, errlen, "cannot %s on %s: %s", what, ifr->ifr_name, strerror(errno));
	return -1;
}

static void dp__set_sin(struct sockaddr *sa, uint32_t ip)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(ip) };
	memcpy(sa, &sin, sizeof(sin));
}

/* Gives the tap's kernel side its address and brings it up, as `ip addr add` + `ip link set
 * up` would, so kernel clients reach us through it. */
static int dp__tap_kernel_setup(const struct tachyon_config *cfg, char *err, size_t errlen)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	struct ifreq ifr;
	int rc = -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", cfg->tap_name);

	dp__set_sin(&ifr.ifr_addr, cfg->tap_kernel_ip);
	if (dp__ifreq_ioctl(fd, SIOCSIFADDR, &ifr, "set the address", err, errlen) != 0)
		goto out;
	uint32_t mask = cfg->prefix_len == 0 ? 0 : ~0u << (32 - cfg->prefix_len);
	dp__set_sin(&ifr.ifr_netmask, mask);
	if (dp__ifreq_ioctl(fd, SIOCSIFNETMASK, &ifr, "set the netmask", err, errlen) != 0)
		goto out;
	if (dp__ifreq_ioctl(fd, SIOCGIFFLAGS, &ifr, "read the flags", err, errlen) != 0)
		goto out;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (dp__ifreq_ioctl(fd, SIOCSIFFLAGS, &ifr, "bring the interface up", err, errlen) != 0)
		goto out;
	rc = 0;
out:
	close(fd);
	return rc;
}

static int dp__find_port(struct dp_port *p, const struct tachyon_config *cfg, char *err,
			 size_t errlen)
{
	if (p->is_tap) {
		if (rte_eth_dev_get_port_by_name(DP_TAP_VDEV, &p->port_id) != 0) {
			snprintf(err, errlen, "the tap port %s (%s) did not appear: see the EAL "
				 "messages above (is another process using interface %s?)",
				 DP_TAP_VDEV, cfg->tap_name, cfg->tap_name);
			return -1;
		}
		return 0;
	}
	if (p->is_memif) {
		if (rte_eth_dev_get_port_by_name(DP_MEMIF_VDEV, &p->port_id) != 0) {
			snprintf(err, errlen, "the memif port %s (socket %s, role %s) did not "
				 "appear: see the EAL messages above (a client needs the server's "
				 "socket to exist; a server's socket must not be in use)",
				 DP_MEMIF_VDEV, cfg->memif_socket,
				 cfg->memif_role == CONF_MEMIF_CLIENT ? "client" : "server");
			return -1;
		}
		return 0;
	}
	uint16_t pid;
	RTE_ETH_FOREACH_DEV(pid) {
		p->port_id = pid;
		return 0;
	}
	snprintf(err, errlen, "no DPDK port for pci_device %s: is it bound to vfio-pci "
		 "(dpdk-devbind.py -s)? See docs/deployment.md", cfg->pci_device);
	return -1;
}

static int dp__configure(struct dp_port *p, const struct tachyon_config *cfg,
			 const struct rte_eth_dev_info *info, uint16_t nq, struct rte_eth_conf *conf,
			 char *err, size_t errlen)
{
	memset(conf, 0, sizeof(*conf));
	conf->rxmode.mtu = cfg->mtu;
	conf->rxmode.offloads = info->rx_offload_capa & DP__RX_OFFLOADS;
	conf->txmode.offloads = info->tx_offload_capa & DP__TX_OFFLOADS;
	if (nq > 1 && info->flow_type_rss_offloads != 0) {
		/* Spread flows over the workers' queues; a flow always hashes to one queue. */
		conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf->rx_adv_conf.rss_conf.rss_hf = info->flow_type_rss_offloads &
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP);
	}
	/* Rx interrupts let idle workers sleep in epoll; PMDs without them refuse the
	 * configuration, and then workers back off with short sleeps. */
	conf->intr_conf.rxq = 1;
	int rc = rte_eth_dev_configure(p->port_id, nq, nq, conf);
	if (rc != 0) {
		conf->intr_conf.rxq = 0;
		rc = rte_eth_dev_configure(p->port_id, nq, nq, conf);
	}
	if (rc != 0) {
		snprintf(err, errlen, "cannot configure port %s with %u queue pair(s): %s",
			 p->name, nq, strerror(-rc));
		return -1;
	}
	p->rx_intr = conf->intr_conf.rxq != 0;
	p->rx_offloads = conf->rxmode.offloads;
	p->tx_offloads = conf->txmode.offloads;
	return 0;
}

int dp_port_open(struct dp_port *p, const struct tachyon_config *cfg,
		 struct rte_mempool *const *pools, uint16_t n_queues, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->is_tap = conf_port_is_tap(cfg);
	p->is_memif = cfg->pci_device[0] == '\0' && cfg->memif_socket[0] != '\0';
	if (p->is_tap)
		snprintf(p->tap_name, sizeof(p->tap_name), "%s", cfg->tap_name);
	if (dp__find_port(p, cfg, err, errlen) != 0)
		return -1;
	rte_eth_dev_get_name_by_port(p->port_id, p->name);

	struct rte_eth_dev_info info;
	int rc = rte_eth_dev_info_get(p->port_id, &info);
	if (rc != 0) {
		snprintf(err, errlen, "port %s: cannot read device info: %s", p->name,
			 strerror(-rc));
		return -1;
	}
	snprintf(p->driver, sizeof(p->driver), "%s", info.driver_name);
	if (n_queues > info.max_rx_queues || n_queues > info.max_tx_queues) {
		snprintf(err, errlen, "port %s has at most %u rx / %u tx queues, %u workers need "
			 "one pair each", p->name, info.max_rx_queues, info.max_tx_queues,
			 n_queues);
		return -1;
	}
	struct rte_eth_conf conf;
	if (dp__configure(p, cfg, &info, n_queues, &conf, err, errlen) != 0)
		return -1;

	uint16_t nb_rxd = DP_RX_DESC, nb_txd = DP_TX_DESC;
	rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &nb_rxd, &nb_txd);
	int socket = rte_eth_dev_socket_id(p->port_id);
	struct rte_eth_rxconf rxconf = info.default_rxconf;
	struct rte_eth_txconf txconf = info.default_txconf;
	rxconf.offloads = conf.rxmode.offloads;
	txconf.offloads = conf.txmode.offloads;
	for (uint16_t q = 0; q < n_queues; q++) {
		rc = rte_eth_rx_queue_setup(p->port_id, q, nb_rxd, socket, &rxconf, pools[q]);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(p->port_id, q, nb_txd, socket, &txconf);
		if (rc != 0) {
			snprintf(err, errlen, "port %s: cannot set up queue %u: %s", p->name, q,
				 strerror(-rc));
			rte_eth_dev_close(p->port_id);
			return -1;
		}
	}
	p->n_queues = n_queues;
	rc = rte_eth_dev_start(p->port_id);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start port %s: %s", p->name, strerror(-rc));
		rte_eth_dev_close(p->port_id);
		return -1;
	}
	p->started = true;
	rte_eth_macaddr_get(p->port_id, &p->mac);
	if (p->is_tap && dp__tap_kernel_setup(cfg, err, errlen) != 0) {
		dp_port_close(p);
		return -1;
	}
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	rte_ether_format_addr(mac, sizeof(mac), &p->mac);
	TLOG_INFO("port", "port %u %s (%s) mac %s, %u queue pair(s), rx interrupts %s, "
		  "rx offloads 0x%" PRIx64 ", tx offloads 0x%" PRIx64, p->port_id, p->name,
		  p->driver, mac, n_queues, p->rx_intr ? "on" : "off", p->rx_offloads,
		  p->tx_offloads);
	return 0;
}

void dp_port_close(struct dp_port *p)
{
	if (!p->started)
		return;
	int rc = rte_eth_dev_stop(p->port_id);
	if (rc != 0)
		TLOG_WARN("port", "stopping port %s: %s", p->name, strerror(-rc));
	rte_eth_dev_close(p->port_id);
	p->started = false;
}
