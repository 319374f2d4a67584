/* Attach kind: socket filters. A filter lives on its socket, not in a link:
 * attached to a socket the caller has, or to a packet socket opened here on
 * one device, whose packets the filter picks (its return value is how many
 * bytes of each to keep, 0 to drop it). */
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sys/socket.h>
#include <unistd.h>

#include "luabpf.h"

#ifndef SO_ATTACH_BPF
#define SO_ATTACH_BPF 50
#endif

int lbpf_attach__socket_filter(struct bpf_program *prog, int sock, struct lbpf_err *err)
{
	int ret = lbpf_attach__check_type(prog, BPF_PROG_TYPE_SOCKET_FILTER, "a socket filter", "socket", err);
	if (ret)
		return ret;
	int fd = bpf_program__fd(prog);
	if (setsockopt(sock, SOL_SOCKET, SO_ATTACH_BPF, &fd, sizeof(fd)) != 0)
		return lbpf_err__set(err, errno, "cannot attach socket filter '%s' to socket %d: %s%s",
				     bpf_program__name(prog), sock, lbpf_strerror(errno),
				     errno == ENOTSOCK || errno == EBADF ? " (fd must be an open socket)" : "");
	return 0;
}

int lbpf_socket__open_packet(const char *dev, struct bpf_program *prog, struct lbpf_err *err)
{
	int ret = lbpf_attach__check_type(prog, BPF_PROG_TYPE_SOCKET_FILTER, "a socket filter", "socket", err);
	if (ret)
		return ret;
	int ifindex = lbpf_attach__ifindex(dev, err);
	if (ifindex < 0)
		return ifindex;
	/* Unbound until the filter is on, so no packet slips past it. */
	int sock = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sock < 0)
		return lbpf_err__set(err, errno, "cannot open a packet socket: %s", lbpf_strerror(errno));
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = ifindex};
	if ((ret = lbpf_attach__socket_filter(prog, sock, err)) == 0 &&
	    bind(sock, (struct sockaddr *)&sll, sizeof(sll)) != 0)
		ret = lbpf_err__set(err, errno, "cannot bind a packet socket to %s: %s", dev, lbpf_strerror(errno));
	if (ret) {
		close(sock);
		return ret;
	}
	return sock;
}
