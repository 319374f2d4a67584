/* Letting go of links whose detach waits for grace periods (perf-event
 * tracepoints: some 30 ms each, one after another under a kernel lock): a
 * detached child process inherits the fds and closes them, so that the
 * caller, and the script's exit, need not wait. Only fds whose programs have
 * stopped already (their gate closed) are handed over. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "object_internal.h"

static int by_value(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* In the child, so only system calls: every fd but the sorted keep[] goes,
 * stdin, stdout and stderr too (a pipe the script writes to must see its end
 * when the script exits, not when the reaper does). */
static void keep_only(const int *keep, int n)
{
	unsigned lo = 0;
	for (int i = 0; i < n; i++) {
		if ((unsigned)keep[i] > lo)
			syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0u, 0);
}

/* keep[] holds the two pipe ends too: closing done tells the caller that
 * nothing else of its (maps, programs, files) is held here any more; go's end
 * comes when the caller has closed its copies, after which each close here is
 * the last one, the one that waits. */
static void reap(const int *keep, int n, int done, int go)
{
	char c;
	setsid();
	prctl(PR_SET_NAME, "luabpf-reaper");
	keep_only(keep, n);
	close(done);
	while (read(go, &c, 1) < 0 && errno == EINTR)
		;
	for (int i = 0; i < n; i++)
		if (keep[i] != done)
			close(keep[i]);
	_exit(0);
}

void lbpf_reaper__close(int *fds, int n)
{
	if (n <= 0)
		return;
	int *keep = malloc((n + 2) * sizeof(*keep));
	int done[2], go[2] = {-1, -1};
	if (keep && pipe2(done, O_CLOEXEC) == 0) {
		if (pipe2(go, O_CLOEXEC) == 0) {
			memcpy(keep, fds, n * sizeof(*keep));
			keep[n] = done[1];
			keep[n + 1] = go[0];
			qsort(keep, n + 2, sizeof(*keep), by_value);
			/* Twice forked, so that init reaps the reaper and no child of
			 * the caller's is left for it to wait for. */
			pid_t child = fork();
			if (child == 0) {
				if (fork() == 0)
					reap(keep, n + 2, done[1], go[0]);
				_exit(0);
			}
			close(go[0]);
			close(done[1]);
			if (child > 0) {
				char c;
				while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
					;
				while (read(done[0], &c, 1) < 0 && errno == EINTR)
					;
			}
		} else {
			close(done[1]);
		}
		close(done[0]);
	}
	free(keep);
	/* Cheap while the reaper holds them; if it could not start, this is
	 * where the grace periods are waited out. */
	for (int i = 0; i < n; i++)
		close(fds[i]);
	if (go[1] >= 0)
		close(go[1]);
}
