/* tracefs: found where it is mounted, or mounted at /sys/kernel/tracing,
 * since tracepoint ids and trace_pipe live there and some machines boot without it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "luabpf.h"

#define TRACEFS_MAGIC 0x74726163
#define TRACEFS_PATH "/sys/kernel/tracing"
#define DEBUGFS_TRACING "/sys/kernel/debug/tracing"

static const char *root;

static bool is_tracefs(const char *path)
{
	struct statfs st;
	return statfs(path, &st) == 0 && st.f_type == TRACEFS_MAGIC;
}

int lbpf_tracefs__ensure(struct lbpf_err *err)
{
	if (root)
		return 0;
	if (is_tracefs(TRACEFS_PATH)) {
		root = TRACEFS_PATH;
		return 0;
	}
	/* libbpf prefers debugfs's view when it exists; follow it so both agree. */
	if (is_tracefs(DEBUGFS_TRACING)) {
		root = DEBUGFS_TRACING;
		return 0;
	}
	if (mount("tracefs", TRACEFS_PATH, "tracefs", 0, NULL) != 0) {
		int e = errno;
		return lbpf_err__set(err, e,
				     "tracefs is not mounted at " TRACEFS_PATH " and mounting it failed (%s)%s",
				     lbpf_strerror(e),
				     e == EPERM ? ": mounting needs CAP_SYS_ADMIN; run as root, or mount it "
						  "first with 'mount -t tracefs tracefs " TRACEFS_PATH "'"
						: "");
	}
	if (lbpf_log__debug())
		fprintf(stderr, "luabpf: mounted tracefs at " TRACEFS_PATH "\n");
	root = TRACEFS_PATH;
	return 0;
}

const char *lbpf_tracefs__root(void)
{
	return root ? root : TRACEFS_PATH;
}

bool lbpf_tracefs__event_exists(const char *category, const char *event)
{
	char path[PATH_MAX];

	if (strchr(category, '/') || strchr(event, '/') || strstr(category, "..") || strstr(event, ".."))
		return false;
	snprintf(path, sizeof(path), "%s/events/%s/%s/id", lbpf_tracefs__root(), category, event);
	return access(path, F_OK) == 0;
}
