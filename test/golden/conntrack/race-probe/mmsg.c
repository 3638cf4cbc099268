// glibc's pattern: A and AAAA in one sendmmsg from one thread on a fresh socket; counts clashes
// in the router netns after each pair.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
static long clashes(const char *p) {
  FILE *f = fopen(p, "r"); char line[1024]; long sum = 0;
  if (!fgets(line, sizeof line, f)) exit(3);
  while (fgets(line, sizeof line, f)) { unsigned v[11];
    if (sscanf(line, "%x %x %x %x %x %x %x %x %x %x", &v[0],&v[1],&v[2],&v[3],&v[4],&v[5],&v[6],&v[7],&v[8],&v[9]) == 10) sum += v[1] + v[9]; }
  fclose(f); return sum;
}
int main(int argc, char **argv) {
  int trials = atoi(argv[2]); long total = 0;
  struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(53) };
  inet_pton(AF_INET, "10.96.0.10", &dst.sin_addr);
  for (int t = 0; t < trials; t++) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    connect(fd, (struct sockaddr *)&dst, sizeof dst);
    struct iovec iov[2] = { { "a", 1 }, { "b", 1 } };
    struct mmsghdr m[2] = { { .msg_hdr = { .msg_iov = &iov[0], .msg_iovlen = 1 } }, { .msg_hdr = { .msg_iov = &iov[1], .msg_iovlen = 1 } } };
    long before = clashes(argv[1]);
    if (sendmmsg(fd, m, 2, 0) != 2) { perror("sendmmsg"); return 1; }
    usleep(300);
    total += clashes(argv[1]) - before > 0;
    close(fd);
  }
  printf("trials=%d clashes=%ld\n", trials, total);
  return 0;
}
