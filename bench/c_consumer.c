/* Bench baseline: the same BPF object consumed by libbpf's ring buffer with
 * a C callback that reads three fields, while bench/gen runs. Prints the
 * events received and the generator's calls per second. */
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

struct rec {
	uint32_t pid, tid;
	uint64_t ts;
	char comm[16];
};

static unsigned long long received, checksum;

static int on_record(void *ctx, void *data, size_t size)
{
	const struct rec *r = data;
	received++;
	checksum += r->pid + r->tid + r->ts;
	return 0;
}

static int warnings_only(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	libbpf_set_print(warnings_only);
	if (argc != 4) {
		fprintf(stderr, "usage: c_consumer OBJECT.o GEN CALLS\n");
		return 2;
	}
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "cannot load %s\n", argv[1]);
		return 1;
	}
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj)
		if (!bpf_program__attach(p)) {
			fprintf(stderr, "cannot attach\n");
			return 1;
		}
	struct ring_buffer *rb =
		ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "events")), on_record, NULL, NULL);
	int fds[2];
	if (!rb || pipe(fds))
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		execl(argv[2], argv[2], argv[3], (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	int status;
	while (waitpid(pid, &status, WNOHANG) == 0)
		ring_buffer__poll(rb, 10);
	while (ring_buffer__poll(rb, 50) > 0)
		;
	char rate[64] = "0";
	ssize_t n = read(fds[0], rate, sizeof(rate) - 1);
	rate[n > 0 ? n : 1] = '\0';
	printf("%llu %s", received, rate);
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
