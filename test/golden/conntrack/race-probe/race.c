// Two UDP datagrams with one 5-tuple, sent from two threads pinned to CPU 0 and 1 with a
// controlled offset; after each trial reads the router netns's conntrack stats and prints
// offset_ns actual_delta_ns clash(0/1).
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <stdatomic.h>

static struct sockaddr_in dst;
static int fd;
static atomic_long go;       // start time (ns) or 0
static atomic_int done;
static long off_ns;
static long t_sent[2];
static const char *statpath;

static long now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000L + t.tv_nsec; }
static void pin(int cpu) { cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s); pthread_setaffinity_np(pthread_self(), sizeof s, &s); }

static long clashes(void) {
  FILE *f = fopen(statpath, "r"); char line[1024]; long sum = 0;
  if (!fgets(line, sizeof line, f)) exit(3);
  while (fgets(line, sizeof line, f)) {
    unsigned v[17]; int n = sscanf(line, "%x %x %x %x %x %x %x %x %x %x %x %x %x %x %x %x %x",
      &v[0],&v[1],&v[2],&v[3],&v[4],&v[5],&v[6],&v[7],&v[8],&v[9],&v[10],&v[11],&v[12],&v[13],&v[14],&v[15],&v[16]);
    if (n < 11) continue;
    sum += v[1] + v[9]; // clashres + insert_failed
  }
  fclose(f); return sum;
}

static void *worker(void *a) {
  int id = (int)(long)a; pin(id);
  for (;;) {
    long t0; while ((t0 = atomic_load(&go)) == 0) ;
    if (t0 < 0) return 0;
    long at = t0 + (id ? off_ns : 0);
    while (now() < at) ;
    t_sent[id] = now();
    sendto(fd, "q", 1, 0, (struct sockaddr *)&dst, sizeof dst);
    atomic_fetch_add(&done, 1);
    while (atomic_load(&go) == t0) ;
  }
}

int main(int argc, char **argv) {
  statpath = argv[1]; int trials = atoi(argv[2]); long maxoff = atol(argv[3]);
  dst.sin_family = AF_INET; dst.sin_port = htons(53); inet_pton(AF_INET, "10.96.0.10", &dst.sin_addr);
  pthread_t th[2]; for (long i = 0; i < 2; i++) pthread_create(&th[i], 0, worker, (void *)i);
  unsigned seed = 12345;
  for (int t = 0; t < trials; t++) {
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in src = { .sin_family = AF_INET }; bind(fd, (struct sockaddr *)&src, sizeof src);
    off_ns = maxoff ? (long)(rand_r(&seed) % (maxoff + 1)) : 0;
    long before = clashes();
    atomic_store(&done, 0);
    usleep(100);
    atomic_store(&go, now() + 300000);
    while (atomic_load(&done) < 2) usleep(20);
    usleep(200);
    long after = clashes();
    printf("%ld %ld %ld\n", off_ns, t_sent[1] - t_sent[0], after - before);
    close(fd);
    atomic_store(&go, 0);
  }
  atomic_store(&go, -1);
  return 0;
}
