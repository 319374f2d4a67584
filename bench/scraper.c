/* Bench helper: scrapes http://127.0.0.1:PORT/PATH RATE times a second for
 * SECONDS, a new connection each time, and prints the scrapes made, the
 * failures, and the median, 99th percentile and slowest in milliseconds. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* One scrape; 0 when the answer was a whole 200 response. */
static int scrape(int port, const char *path)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	char req[512], buf[65536];
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok = 0;
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", path);
	if (write(fd, req, n) == n) {
		ssize_t r, first = 1;
		while ((r = read(fd, buf, sizeof(buf))) > 0) {
			if (first && r >= 12 && memcmp(buf + 9, "200", 3) == 0)
				ok = 1;
			first = 0;
		}
	}
	close(fd);
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: scraper PORT PATH RATE SECONDS\n");
		return 2;
	}
	int port = atoi(argv[1]), failed = 0;
	double rate = atof(argv[3]), seconds = atof(argv[4]);
	size_t want = (size_t)(rate * seconds), n = 0;
	double *lat = calloc(want + 1, sizeof(*lat)), start = now();
	if (!lat)
		return 1;
	while (n < want) {
		double wait = start + n / rate - now();
		if (wait > 0) {
			struct timespec ts = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
			nanosleep(&ts, NULL);
		}
		double t0 = now();
		failed += scrape(port, argv[2]) != 0;
		lat[n++] = (now() - t0) * 1000;
	}
	qsort(lat, n, sizeof(*lat), cmp);
	printf("%zu %d %.2f %.2f %.2f\n", n, failed, lat[n / 2], lat[n * 99 / 100], lat[n - 1]);
	free(lat);
	return 0;
}
