/* Bench helper: runs a pinned program with BPF_PROG_TEST_RUN as fast as it
 * can for some seconds, so a ring or perf buffer fills faster than a
 * consumer drains it. Prints how many times the program ran. */
#include <bpf/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char data[64] = {0};
	unsigned long long runs = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: producer PINNED_PROG SECONDS\n");
		return 2;
	}
	int fd = bpf_obj_get(argv[1]);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	double end = now() + atof(argv[2]);
	/* Thousands of runs per call: each call has a fixed cost of milliseconds. */
	while (now() < end) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = sizeof(data), .repeat = 5000);
		if (bpf_prog_test_run_opts(fd, &opts) != 0) {
			perror("test_run");
			return 1;
		}
		runs += 5000;
	}
	printf("%llu\n", runs);
	return 0;
}
