/*
 * RTP side of bench/bridge-e2e.ts's caller: N calls' 20 ms PCMU packets from one UDP socket, sent in batches
 * (sendmmsg) on one drift-free schedule, echoes received in batches (recvmmsg) and timed. Written in C so that the
 * load generator costs a few microseconds per packet and is not what saturates a small machine; bridge-e2e.ts
 * compiles it with `cc -O2` and drives it over stdin/stdout:
 *
 *   rtp-load CALLS WARMUP_MS MEASURE_MS GROUPS
 *   -> "port P"                          the local RTP port (for the SDP offers)
 *   <- "call I REMOTE_PORT" ... "go"     the server's RTP port of each established call
 *   -> "window START_MS END_MS"          the measurement window, wall clock (ms since the epoch)
 *   -> "report {json}"                   sent, echoed, late, RTT p50/p99, CPU and wall time, worst lateness
 *
 * Payload: PCMU silence with a packet counter in the first four bytes (three digits 0..99 and a check digit, mu-law
 * codes that survive decode -> PCM16 -> encode unchanged). Calls are spread over GROUPS phase groups in the 20 ms
 * period. An echo counts when its counter is new for its call and the packet was sent inside the window; echoes are
 * read when the next group is sent, so the round trip is measured to within 20 / GROUPS ms.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME 160
#define PKT (12 + FRAME)
#define BASE 100
#define RING 256
#define LATE_MS 150.0
#define SEND_BATCH 128
#define RECV_BATCH 64

static double clock_ms(clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static double cpu_ms(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e3 + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e3;
}

static int check(int a, int b, int c) { return (a * 31 + b * 17 + c * 7 + 11) % BASE; }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void send_all(int sock, struct mmsghdr *msgs, int count) {
  int done = 0;
  while (done < count) {
    int r = sendmmsg(sock, msgs + done, count - done, 0);
    if (r > 0) {
      done += r;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
      struct pollfd p = {sock, POLLOUT, 0};
      poll(&p, 1, 5);
    } else if (r < 0 && errno != EINTR) {
      done++; /* skip a packet the kernel refuses (e.g. ECONNREFUSED from an earlier ICMP) */
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: rtp-load CALLS WARMUP_MS MEASURE_MS GROUPS\n");
    return 2;
  }
  int n = atoi(argv[1]);
  double warmup = atof(argv[2]), measure = atof(argv[3]);
  int groups = atoi(argv[4]);
  if (n <= 0 || groups <= 0) return 2;

  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int buf = 4 << 20;
  setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  struct sockaddr_in local = {0};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(sock, (struct sockaddr *)&local, sizeof local) != 0) {
    perror("bind");
    return 1;
  }
  socklen_t len = sizeof local;
  getsockname(sock, (struct sockaddr *)&local, &len);
  printf("port %d\n", ntohs(local.sin_port));
  fflush(stdout);

  int *remote = calloc(n, sizeof(int));
  int *call_of_port = malloc(65536 * sizeof(int));
  for (int p = 0; p < 65536; p++) call_of_port[p] = -1;
  char line[256];
  while (fgets(line, sizeof line, stdin)) {
    int i, port;
    if (strncmp(line, "go", 2) == 0) break;
    if (sscanf(line, "call %d %d", &i, &port) == 2 && i >= 0 && i < n && port > 0 && port < 65536) {
      remote[i] = port;
      call_of_port[port] = i;
    }
  }

  unsigned char *pkts = malloc((size_t)n * PKT);
  for (int i = 0; i < n; i++) {
    unsigned char *p = pkts + (size_t)i * PKT;
    memset(p, 0xff, PKT);
    p[0] = 0x80;
    p[1] = 0;
    unsigned ssrc = 0x10000 + i;
    p[8] = ssrc >> 24;
    p[9] = ssrc >> 16;
    p[10] = ssrc >> 8;
    p[11] = ssrc;
  }
  unsigned short *seq = calloc(n, sizeof(unsigned short));
  double *sent_at = calloc((size_t)n * RING, sizeof(double));
  int *last = malloc(n * sizeof(int));
  for (int i = 0; i < n; i++) last[i] = -1;
  size_t rtt_cap = (size_t)n * 50 * (size_t)(measure / 1000 + 2);
  double *rtts = malloc(rtt_cap * sizeof(double));
  size_t rtt_count = 0;

  struct mmsghdr smsg[SEND_BATCH];
  struct iovec siov[SEND_BATCH];
  struct sockaddr_in sdst[SEND_BATCH];
  memset(smsg, 0, sizeof smsg);
  for (int k = 0; k < SEND_BATCH; k++) {
    sdst[k] = local;
    smsg[k].msg_hdr.msg_iov = &siov[k];
    smsg[k].msg_hdr.msg_iovlen = 1;
    smsg[k].msg_hdr.msg_name = &sdst[k];
    smsg[k].msg_hdr.msg_namelen = sizeof sdst[k];
  }
  static unsigned char rbuf[RECV_BATCH][2048];
  struct mmsghdr rmsg[RECV_BATCH];
  struct iovec riov[RECV_BATCH];
  struct sockaddr_in rsrc[RECV_BATCH];

  long sent = 0, echoed = 0, late = 0;
  double max_lag = 0;
  double t0 = clock_ms(CLOCK_MONOTONIC) + 5;
  double wall0 = clock_ms(CLOCK_REALTIME) + 5;
  double win_start = t0 + warmup, win_end = win_start + measure;
  printf("window %.0f %.0f\n", wall0 + warmup, wall0 + warmup + measure);
  fflush(stdout);
  double cpu0 = cpu_ms();
  long slot = 0;
  for (;;) {
    double now = clock_ms(CLOCK_MONOTONIC);
    while (t0 + slot * 20.0 / groups <= now) {
      double due = t0 + slot * 20.0 / groups;
      long tick = slot / groups;
      int g = (int)(slot % groups);
      if (now > win_start && now - due > max_lag) max_lag = now - due;
      int d0 = (int)(tick / (BASE * BASE) % BASE), d1 = (int)(tick / BASE % BASE), d2 = (int)(tick % BASE);
      int chk = check(d0, d1, d2);
      unsigned ts = (unsigned)(tick * FRAME);
      int batch = 0;
      for (int i = g; i < n; i += groups) {
        if (remote[i] == 0) continue;
        unsigned char *p = pkts + (size_t)i * PKT;
        unsigned short s = seq[i]++;
        p[2] = s >> 8;
        p[3] = s;
        p[4] = ts >> 24;
        p[5] = ts >> 16;
        p[6] = ts >> 8;
        p[7] = ts;
        p[12] = d0;
        p[13] = d1;
        p[14] = d2;
        p[15] = chk;
        sent_at[(size_t)i * RING + tick % RING] = now;
        siov[batch].iov_base = p;
        siov[batch].iov_len = PKT;
        sdst[batch].sin_port = htons(remote[i]);
        if (now >= win_start && now < win_end) sent++;
        if (++batch == SEND_BATCH) {
          send_all(sock, smsg, batch);
          batch = 0;
        }
      }
      if (batch > 0) send_all(sock, smsg, batch);
      slot++;
      now = clock_ms(CLOCK_MONOTONIC);
    }
    if (now > win_end + 500) break;
    // Sleep until the next group is due, then read every echo that came meanwhile: no wake-up per packet (on
    // loopback the sender's system call would pay for waking us), at the price of timing echoes to the group
    // interval (2 ms with ten groups).
    double wait = t0 + slot * 20.0 / groups - now;
    if (wait > 0) {
      struct timespec ts = {(time_t)(wait / 1000), (long)(((long)(wait * 1e6)) % 1000000000L)};
      nanosleep(&ts, NULL);
    }
    for (;;) {
      for (int k = 0; k < RECV_BATCH; k++) {
        riov[k].iov_base = rbuf[k];
        riov[k].iov_len = sizeof rbuf[k];
        memset(&rmsg[k].msg_hdr, 0, sizeof rmsg[k].msg_hdr);
        rmsg[k].msg_hdr.msg_iov = &riov[k];
        rmsg[k].msg_hdr.msg_iovlen = 1;
        rmsg[k].msg_hdr.msg_name = &rsrc[k];
        rmsg[k].msg_hdr.msg_namelen = sizeof rsrc[k];
      }
      int got = recvmmsg(sock, rmsg, RECV_BATCH, MSG_DONTWAIT, NULL);
      if (got <= 0) break;
      double at_now = clock_ms(CLOCK_MONOTONIC);
      for (int k = 0; k < got; k++) {
        unsigned char *m = rbuf[k];
        int i = call_of_port[ntohs(rsrc[k].sin_port)];
        if (i < 0 || rmsg[k].msg_len < 16 || (m[1] & 0x7f) != 0) continue;
        if (m[12] >= BASE || m[13] >= BASE || m[14] >= BASE || m[15] != check(m[12], m[13], m[14])) continue;
        int c = m[12] * BASE * BASE + m[13] * BASE + m[14];
        if (c <= last[i]) continue;
        last[i] = c;
        double at = sent_at[(size_t)i * RING + c % RING];
        if (!(at >= win_start && at < win_end)) continue;
        double rtt = at_now - at;
        echoed++;
        if (rtt > LATE_MS) late++;
        if (rtt_count < rtt_cap) rtts[rtt_count++] = rtt;
      }
      if (got < RECV_BATCH) break;
    }
  }
  double cpu = cpu_ms() - cpu0;
  double wall = clock_ms(CLOCK_MONOTONIC) - t0;
  qsort(rtts, rtt_count, sizeof(double), cmp_double);
  double p50 = rtt_count ? rtts[(size_t)(rtt_count * 0.5)] : -1;
  double p99 = rtt_count ? rtts[rtt_count * 99 / 100 < rtt_count ? rtt_count * 99 / 100 : rtt_count - 1] : -1;
  printf("report {\"sent\":%ld,\"echoed\":%ld,\"late\":%ld,\"rttP50\":%.3f,\"rttP99\":%.3f,\"cpuMs\":%.1f,\"wallMs\":%.1f,\"maxSendLagMs\":%.3f}\n", sent, echoed, late, p50, p99, cpu, wall, max_lag);
  fflush(stdout);
  return 0;
}
