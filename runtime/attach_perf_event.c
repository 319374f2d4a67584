/* Attach kind: perf events (cpu-clock sampling and other counters), one
 * event per online CPU when every process is sampled, attached as one link. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "luabpf.h"

/* The online CPUs from "0-3,5" in sysfs; returns how many, -errno on failure. */
static int online_cpus(int *cpus, int max)
{
	char buf[1024];
	FILE *f = fopen("/sys/devices/system/cpu/online", "r");
	int n = 0;

	if (!f)
		return -errno;
	bool ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	if (!ok)
		return -EIO;
	for (char *p = buf; *p && *p != '\n';) {
		char *end;
		long lo = strtol(p, &end, 10), hi = lo;
		if (end == p)
			return -EIO;
		if (*end == '-')
			hi = strtol(end + 1, &end, 10);
		for (long c = lo; c <= hi && n < max; c++)
			cpus[n++] = (int)c;
		p = *end == ',' ? end + 1 : end;
	}
	return n;
}

static int open_failure(struct lbpf_err *err, int code, const struct lbpf_perf_event_opts *o)
{
	if (o->type == PERF_TYPE_HARDWARE && (code == -ENOENT || code == -EOPNOTSUPP || code == -ENODEV))
		return lbpf_err__set(err, code,
				     "this machine has no hardware performance counters (%s; common in virtual "
				     "machines): sample with a software event instead, e.g. type = \"software\", "
				     "config = \"cpu-clock\"",
				     lbpf_strerror(-code));
	if (code == -ESRCH)
		return lbpf_err__set(err, code, "cannot open a perf event for pid %d: no such process", o->pid);
	if (code == -EINVAL && o->sample_freq)
		return lbpf_err__set(err, code,
				     "cannot open a perf event sampling at %llu Hz: %s (the kernel's limit is "
				     "/proc/sys/kernel/perf_event_max_sample_rate)",
				     (unsigned long long)o->sample_freq, lbpf_strerror(-code));
	return lbpf_err__set(err, code, "cannot open the perf event (type %u, config %llu): %s", o->type,
			     (unsigned long long)o->config, lbpf_strerror(-code));
}

int lbpf_attach__perf_event(struct lbpf_object *obj, struct bpf_program *prog,
			    const struct lbpf_perf_event_opts *o, struct lbpf_err *err)
{
	int cpus[1024], ncpus = 1;

	if (bpf_program__type(prog) != BPF_PROG_TYPE_PERF_EVENT)
		return lbpf_err__set(err, EINVAL,
				     "program '%s' is not a perf event program (its section is \"%s\"); declare it "
				     "with SEC(\"perf_event\") and a struct bpf_perf_event_data *ctx",
				     bpf_program__name(prog), bpf_program__section_name(prog));
	if (o->cpu >= 0)
		cpus[0] = o->cpu;
	else if (o->pid >= 0)
		cpus[0] = -1; /* the event follows the process from CPU to CPU */
	else if ((ncpus = online_cpus(cpus, 1024)) <= 0)
		return lbpf_err__set(err, ncpus ? -ncpus : EIO, "cannot read the online CPUs from sysfs");

	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = o->type,
		.config = o->config,
		.freq = o->sample_period == 0,
	};
	if (attr.freq)
		attr.sample_freq = o->sample_freq;
	else
		attr.sample_period = o->sample_period;

	struct bpf_link **links = calloc(ncpus, sizeof(*links));
	if (!links)
		return lbpf_err__set(err, ENOMEM, "out of memory");
	int n = 0, ret = 0;
	for (; n < ncpus; n++) {
		int fd = (int)syscall(SYS_perf_event_open, &attr, o->pid, cpus[n], -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			ret = open_failure(err, -errno, o);
			break;
		}
		lbpf_log__reset();
		links[n] = bpf_program__attach_perf_event(prog, fd);
		if (!links[n]) {
			ret = lbpf_attach__fail(err, -errno, prog, "a perf event");
			close(fd);
			break;
		}
	}
	if (ret) {
		for (int i = 0; i < n; i++)
			bpf_link__destroy(links[i]);
		free(links);
		return ret;
	}
	ret = lbpf_link__add_group(obj, links, n);
	free(links);
	return ret;
}
