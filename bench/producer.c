/* Bench helper: runs a pinned program with BPF_PROG_TEST_RUN for some
 * seconds, as fast as it can (so a ring or perf buffer fills faster than a
 * consumer drains it) or RATE runs a second. Prints how many times it ran. */
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

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: producer PINNED_PROG SECONDS [RATE]\n");
		return 2;
	}
	int fd = bpf_obj_get(argv[1]);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	double start = now(), end = start + atof(argv[2]), rate = argc == 4 ? atof(argv[3]) : 0;
	/* Thousands of runs per call: each call has a fixed cost of milliseconds.
	 * Paced, a tenth of a second's runs per call, each at its moment. */
	int repeat = rate >= 10 ? (int)(rate / 10) : rate > 0 ? 1 : 5000;
	while (now() < end) {
		if (rate > 0) {
			double due = start + runs / rate, wait = due - now();
			if (wait > 0) {
				struct timespec ts = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
				nanosleep(&ts, NULL);
			}
		}
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = sizeof(data), .repeat = repeat);
		if (bpf_prog_test_run_opts(fd, &opts) != 0) {
			perror("test_run");
			return 1;
		}
		runs += repeat;
	}
	printf("%llu\n", runs);
	return 0;
}
