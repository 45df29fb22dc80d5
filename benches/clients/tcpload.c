/*
 * Native TCP load generator (epoll, one thread) so that the generator is not the limit when the server is
 * faster than a node:net client. Same modes and JSON-line protocol as clients/tcp-load.mjs:
 *   tcpload --port=P --mode=echo --conns=32 --window=16 --size=64
 *   tcpload --port=P --mode=stream --chunk=65536
 * stdout: {"ready":true} then one {"ops","bytes","t"} line per "sample" line read on stdin; exits on stdin EOF
 * and after 10 minutes in any case. Traffic goes to 127.0.0.1 only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct { int fd; long partial; long owed; int wantOut; } conn_t;

static long arg(int argc, char **argv, const char *key, long def) {
  size_t k = strlen(key);
  for (int i = 1; i < argc; i++)
    if (!strncmp(argv[i], key, k) && argv[i][k] == '=') return atol(argv[i] + k + 1);
  return def;
}
static int has(int argc, char **argv, const char *s) {
  for (int i = 1; i < argc; i++) if (!strcmp(argv[i], s)) return 1;
  return 0;
}
static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  long port = arg(argc, argv, "--port", 0);
  int stream = has(argc, argv, "--mode=stream");
  long conns = stream ? 1 : arg(argc, argv, "--conns", 32);
  long window = arg(argc, argv, "--window", 16), size = arg(argc, argv, "--size", 64);
  long chunk = arg(argc, argv, "--chunk", 65536);
  long bufsz = stream ? chunk : window * size;
  char *out = malloc(bufsz), *in = malloc(1 << 18);
  memset(out, 'a', bufsz);
  alarm(600);
  int ep = epoll_create1(0);
  conn_t *cs = calloc(conns, sizeof(conn_t));
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  for (long i = 0; i < conns; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
      printf("{\"ready\":false,\"error\":\"load generator: connect: %s\"}\n", strerror(errno));
      return 0;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    cs[i].fd = fd;
    cs[i].owed = stream ? 0 : bufsz;
    cs[i].wantOut = 1;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u64 = (uint64_t)i };
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  fcntl(0, F_SETFL, O_NONBLOCK);
  struct epoll_event sev = { .events = EPOLLIN, .data.u64 = (uint64_t)-1 };
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &sev);
  printf("{\"ready\":true,\"native\":true}\n");
  fflush(stdout);

  long long total = 0;
  struct epoll_event evs[256];
  char line[4096];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, 1000);
    for (int e = 0; e < n; e++) {
      if (evs[e].data.u64 == (uint64_t)-1) {
        ssize_t r = read(0, line, sizeof line - 1);
        if (r == 0) return 0;
        if (r < 0) continue;
        line[r] = 0;
        for (char *p = line; (p = strstr(p, "sample")); p += 6)
          printf("{\"ops\":%lld,\"bytes\":%lld,\"t\":%.3f}\n", stream ? total : total / size, total, now_ms());
        fflush(stdout);
        continue;
      }
      conn_t *c = &cs[evs[e].data.u64];
      if (evs[e].events & (EPOLLERR | EPOLLHUP)) {
        fprintf(stderr, "connection closed by server\n");
        return 1;
      }
      if (evs[e].events & EPOLLIN) {
        for (;;) {
          ssize_t r = read(c->fd, in, 1 << 18);
          if (r <= 0) {
            if (r == 0) { fprintf(stderr, "server closed the connection\n"); return 1; }
            break;
          }
          total += r;
          if (!stream) {
            c->partial += r;
            long done = c->partial / size;
            c->partial -= done * size;
            c->owed += done * size;
          }
          if (r < (1 << 18)) break;
        }
      }
      // echo: write what is owed; stream: write whole chunks while the socket takes them.
      for (int k = 0; k < 16; k++) {
        long len = stream ? chunk : (c->owed < bufsz ? c->owed : bufsz);
        if (len <= 0) break;
        ssize_t w = write(c->fd, out, len);
        if (w < 0) break;
        if (!stream) c->owed -= w;
        if (w < len) break;
      }
      int want = stream || c->owed > 0;
      if (want != c->wantOut) {
        struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0), .data.u64 = evs[e].data.u64 };
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        c->wantOut = want;
      }
    }
  }
}
