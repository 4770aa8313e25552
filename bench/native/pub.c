/*
 * The bench's native publishers: a pipelined closed loop with a fixed number of events in flight on
 * one connection, in C, so that the figure measures the server and not the client (the Node `nats`
 * client used a whole core while nats-server idled). Built by the bench with the system's cc.
 *
 *   pub jetstream PORT INFLIGHT WARMUP_S DURATION_S PAYLOAD_FILE [MAX_EVENTS]
 *       NATS JetStream publish-ack over the raw NATS protocol: creates stream BENCH (subjects
 *       bench.>, file storage, R1), then keeps INFLIGHT `PUB bench.publish <reply>` in flight and
 *       counts the acks (`{"stream":"BENCH","seq":n}`) that come back on the reply subjects.
 *   pub amebo-stream PORT INFLIGHT WARMUP_S DURATION_S BODY_LINE_FILE [MAX_EVENTS]
 *       amebo's POST /v1/events/stream: one chunked HTTP/1.1 request, one NDJSON line per event,
 *       INFLIGHT lines written and not yet answered; counts the answer lines (`{"data":` or not).
 *
 * MAX_EVENTS (default: no limit) stops sending after that many events (the memory figure's fill).
 * Both refill the window as soon as answers arrive and write every refill of one read in one
 * write(2), as a pipelined client does. Prints one JSON line: ok, errors, seconds, rps, p50, p99,
 * p999 (ms, per event: send to answer), cpu (seconds of this process over the measured part).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static void die(const char *what) {
  fprintf(stderr, "pub: %s: %s\n", what, strerror(errno));
  exit(1);
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) die(path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc(n + 1);
  if (fread(buf, 1, n, f) != (size_t)n) die("read payload");
  fclose(f);
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) n--;
  buf[n] = 0;
  *len = n;
  return buf;
}

static int dial(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* An output buffer flushed with one write(2) per refill. */
typedef struct {
  char *p;
  size_t len, cap;
} Buf;

static void put(Buf *b, const char *s, size_t n) {
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2;
    b->p = realloc(b->p, b->cap);
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

static void flush(int fd, Buf *b) {
  size_t off = 0;
  while (off < b->len) {
    ssize_t w = write(fd, b->p + off, b->len - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    off += w;
  }
  b->len = 0;
}

/* Latency samples of the measured part, in ms. */
static float *samples;
static size_t nsamples, capsamples;
static void sample(double ms) {
  if (nsamples == capsamples) {
    capsamples = capsamples ? capsamples * 2 : 1 << 20;
    samples = realloc(samples, capsamples * sizeof *samples);
  }
  samples[nsamples++] = (float)ms;
}
static int cmp(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return x < y ? -1 : x > y;
}
static double pct(double p) {
  if (nsamples == 0) return 0;
  size_t i = (size_t)(p / 100.0 * (nsamples - 1));
  return samples[i];
}

/* The closed loop shared by both protocols. */
typedef struct {
  int fd;
  int inflight;
  double warmup_end, end;
  double *sent; /* send time of the event in each slot */
  long ok, errors, answered;
  int outstanding;
  double t_measure, cpu_measure;
  int measuring;
  long limit, sent_total; /* stop sending after `limit` events (0: no limit) */
} Loop;

static long max_events = 0;

/* True while the loop may send another event. */
static int may_send(Loop *l) {
  if (now_s() >= l->end) return 0;
  if (l->limit > 0 && l->sent_total >= l->limit) return 0;
  l->sent_total++;
  return 1;
}

static void answered(Loop *l, int slot, int is_ok) {
  double t = now_s();
  if (!l->measuring && t >= l->warmup_end) {
    l->measuring = 1;
    l->t_measure = t;
    l->cpu_measure = cpu_s();
  }
  if (l->measuring && t < l->end) {
    if (is_ok) l->ok++;
    else l->errors++;
    sample((t - l->sent[slot]) * 1000.0);
  }
  l->outstanding--;
}

static void report(Loop *l, const char *tool) {
  double t = now_s();
  double secs = (t < l->end ? t : l->end) - l->t_measure;
  double cpu = cpu_s() - l->cpu_measure;
  qsort(samples, nsamples, sizeof *samples, cmp);
  printf("{\"tool\":\"%s\",\"ok\":%ld,\"errors\":%ld,\"seconds\":%.4f,\"rps\":%.1f,\"p50\":%.4f,\"p99\":%.4f,\"p999\":%.4f,\"cpu\":%.4f}\n", tool, l->ok,
         l->errors, secs, l->ok / secs, pct(50), pct(99), pct(99.9), cpu);
  fflush(stdout);
}

/* ---- NATS JetStream ---- */

static char rbuf[1 << 20];

/* Reads until `needle` appears; returns a pointer just past it within rbuf (for setup only). */
static void expect_text(int fd, const char *needle) {
  size_t len = 0;
  for (;;) {
    ssize_t r = read(fd, rbuf + len, sizeof rbuf - 1 - len);
    if (r <= 0) die("read (setup)");
    len += r;
    rbuf[len] = 0;
    if (strstr(rbuf, "-ERR")) {
      fprintf(stderr, "pub: server said %s\n", rbuf);
      exit(1);
    }
    if (strstr(rbuf, needle)) return;
    if (strstr(rbuf, "PING\r\n")) {
      if (write(fd, "PONG\r\n", 6) < 0) die("write");
    }
  }
}

static void nats_publish(Buf *out, int slot, const char *payload, size_t plen) {
  char head[128];
  int n = snprintf(head, sizeof head, "PUB bench.publish _INBOX.b.%d %zu\r\n", slot, plen);
  put(out, head, n);
  put(out, payload, plen);
  put(out, "\r\n", 2);
}

static void run_jetstream(int port, int inflight, double warmup, double duration, const char *payload, size_t plen) {
  int fd = dial(port);
  expect_text(fd, "INFO ");
  const char *hello = "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":false,\"no_responders\":false,\"name\":\"bench-pub\"}\r\nPING\r\n";
  if (write(fd, hello, strlen(hello)) < 0) die("write");
  expect_text(fd, "PONG\r\n");
  const char *create = "{\"name\":\"BENCH\",\"subjects\":[\"bench.>\"],\"storage\":\"file\",\"num_replicas\":1}";
  char req[512];
  int n = snprintf(req, sizeof req, "SUB _INBOX.c 1\r\nPUB $JS.API.STREAM.CREATE.BENCH _INBOX.c %zu\r\n%s\r\n", strlen(create), create);
  if (write(fd, req, n) < 0) die("write");
  expect_text(fd, "MSG _INBOX.c");
  if (strstr(rbuf, "\"error\"") && !strstr(rbuf, "already in use")) {
    fprintf(stderr, "pub: stream create failed: %s\n", rbuf);
    exit(1);
  }
  const char *sub = "UNSUB 1\r\nSUB _INBOX.b.* 2\r\nPING\r\n";
  if (write(fd, sub, strlen(sub)) < 0) die("write");
  expect_text(fd, "PONG\r\n");

  Loop l = {.fd = fd, .inflight = inflight, .limit = max_events};
  l.sent = calloc(inflight, sizeof(double));
  double t0 = now_s();
  l.warmup_end = t0 + warmup;
  l.end = l.warmup_end + duration;
  Buf out = {0};
  for (int i = 0; i < inflight && may_send(&l); i++) {
    l.sent[i] = now_s();
    nats_publish(&out, i, payload, plen);
    l.outstanding++;
  }
  flush(fd, &out);

  size_t len = 0;
  int done = 0;
  while (!done || l.outstanding > 0) {
    ssize_t r = read(fd, rbuf + len, sizeof rbuf - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die("read");
    len += r;
    size_t off = 0;
    for (;;) {
      char *line = rbuf + off;
      char *eol = memmem(line, len - off, "\r\n", 2);
      if (!eol) break;
      if (eol - line >= 4 && memcmp(line, "MSG ", 4) == 0) {
        /* MSG <subject> <sid> [reply] <bytes> */
        char *last = eol;
        while (last > line && last[-1] != ' ') last--;
        long bytes = strtol(last, NULL, 10);
        size_t need = (eol - rbuf) + 2 + bytes + 2;
        if (need > len) break;
        int slot = atoi(line + 4 + strlen("_INBOX.b."));
        char *body = eol + 2;
        int is_ok = memmem(body, bytes, "\"error\"", 7) == NULL;
        answered(&l, slot, is_ok);
        if (may_send(&l)) {
          l.sent[slot] = now_s();
          nats_publish(&out, slot, payload, plen);
          l.outstanding++;
        } else done = 1;
        off = need;
      } else {
        if (eol - line == 4 && memcmp(line, "PING", 4) == 0) put(&out, "PONG\r\n", 6);
        else if (eol - line >= 4 && memcmp(line, "-ERR", 4) == 0) fprintf(stderr, "pub: %.*s\n", (int)(eol - line), line);
        off = (eol - rbuf) + 2;
      }
    }
    memmove(rbuf, rbuf + off, len - off);
    len -= off;
    if (out.len) flush(fd, &out);
  }
  report(&l, "native NATS publisher (C)");
  close(fd);
}

/* ---- amebo POST /v1/events/stream ---- */

static void amebo_line(Buf *out, const char *line, size_t llen) {
  char head[32];
  int n = snprintf(head, sizeof head, "%zx\r\n", llen + 1);
  put(out, head, n);
  put(out, line, llen);
  put(out, "\n\r\n", 3);
}

static void run_amebo(int port, int inflight, double warmup, double duration, const char *line, size_t llen) {
  int fd = dial(port);
  const char *head =
      "POST /v1/events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n";
  Buf out = {0};
  put(&out, head, strlen(head));
  Loop l = {.fd = fd, .inflight = inflight, .limit = max_events};
  l.sent = calloc(inflight, sizeof(double));
  double t0 = now_s();
  l.warmup_end = t0 + warmup;
  l.end = l.warmup_end + duration;
  /* Answers come in order, so the slot of the next answer is a ring index. */
  long next_sent = 0, next_answer = 0;
  for (int i = 0; i < inflight && may_send(&l); i++) {
    l.sent[next_sent++ % inflight] = now_s();
    amebo_line(&out, line, llen);
    l.outstanding++;
  }
  flush(fd, &out);

  /* Response: status line and headers, then chunked body; lines may span chunks. */
  size_t len = 0;
  int in_body = 0;
  long chunk_left = 0; /* bytes of the current chunk still to read; -1: expecting a size line */
  int line_start = 1, line_is_data = 0, line_pos = 0;
  char prefix[8];
  int done = 0;
  chunk_left = -1;
  while (!done || l.outstanding > 0) {
    ssize_t r = read(fd, rbuf + len, sizeof rbuf - len);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      fprintf(stderr, "pub: amebo closed the stream with %d answers outstanding\n", l.outstanding);
      exit(1);
    }
    if (r < 0) die("read");
    len += r;
    size_t off = 0;
    if (!in_body) {
      char *end = memmem(rbuf, len, "\r\n\r\n", 4);
      if (!end) continue;
      if (len < 12 || memcmp(rbuf + 9, "200", 3) != 0) {
        fprintf(stderr, "pub: amebo answered %.*s\n", (int)(len > 300 ? 300 : len), rbuf);
        exit(1);
      }
      in_body = 1;
      off = end - rbuf + 4;
    }
    for (;;) {
      if (chunk_left < 0) {
        char *eol = memmem(rbuf + off, len - off, "\r\n", 2);
        if (!eol) break;
        chunk_left = strtol(rbuf + off, NULL, 16);
        off = eol - rbuf + 2;
        if (chunk_left == 0) {
          fprintf(stderr, "pub: amebo ended the stream with %d answers outstanding\n", l.outstanding);
          exit(1);
        }
        continue;
      }
      if (chunk_left == 0) {
        if (len - off < 2) break;
        off += 2; /* CRLF after the chunk */
        chunk_left = -1;
        continue;
      }
      size_t take = len - off < (size_t)chunk_left ? len - off : (size_t)chunk_left;
      if (take == 0) break;
      for (size_t i = 0; i < take; i++) {
        char c = rbuf[off + i];
        if (line_start) {
          line_start = 0;
          line_pos = 0;
        }
        if (line_pos < 8) prefix[line_pos] = c;
        line_pos++;
        if (line_pos == 8) line_is_data = memcmp(prefix, "{\"data\":", 8) == 0;
        if (c == '\n') {
          if (line_pos < 8) line_is_data = 0;
          answered(&l, (int)(next_answer++ % inflight), line_is_data);
          line_start = 1;
          if (may_send(&l)) {
            l.sent[next_sent++ % inflight] = now_s();
            amebo_line(&out, line, llen);
            l.outstanding++;
          } else done = 1;
        }
      }
      off += take;
      chunk_left -= take;
    }
    memmove(rbuf, rbuf + off, len - off);
    len -= off;
    if (out.len) flush(fd, &out);
  }
  report(&l, "native NDJSON publisher (C)");
  if (write(fd, "0\r\n\r\n", 5) < 0) die("write");
  close(fd);
}

int main(int argc, char **argv) {
  if (argc != 7 && argc != 8) {
    fprintf(stderr, "usage: pub jetstream|amebo-stream PORT INFLIGHT WARMUP_S DURATION_S PAYLOAD_FILE [MAX_EVENTS]\n");
    return 2;
  }
  if (argc == 8) max_events = atol(argv[7]);
  int port = atoi(argv[2]), inflight = atoi(argv[3]);
  double warmup = atof(argv[4]), duration = atof(argv[5]);
  size_t plen;
  char *payload = read_file(argv[6], &plen);
  if (strcmp(argv[1], "jetstream") == 0) run_jetstream(port, inflight, warmup, duration, payload, plen);
  else if (strcmp(argv[1], "amebo-stream") == 0) run_amebo(port, inflight, warmup, duration, payload, plen);
  else {
    fprintf(stderr, "pub: unknown mode %s\n", argv[1]);
    return 2;
  }
  return 0;
}
