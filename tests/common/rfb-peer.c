/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The hand-driven RFB peer of tests and benchmarks (tests/common/rfb-peer.h). */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/common/rfb-peer.h"

#define MAX_NAME 4096

int rfbp_connect(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool rfbp_read(int fd, void *buf, size_t n, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    size_t have = 0;
    while (have < n) {
        long long left = end - now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return false;
        ssize_t r = recv(fd, (uint8_t *)buf + have, n - have, 0);
        if (r <= 0)
            return false;
        have += (size_t)r;
    }
    return true;
}

bool rfbp_write(int fd, const void *buf, size_t n)
{
    return send(fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n;
}

uint32_t rfbp_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void rfbp_put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void rfbp_put32(uint8_t *p, uint32_t v)
{
    rfbp_put16(p, v >> 16);
    rfbp_put16(p + 2, v & 0xffff);
}

bool rfbp_version(int fd, int timeout_ms, const char **why)
{
    char v[12];
    *why = "ProtocolVersion";
    return rfbp_read(fd, v, sizeof(v), timeout_ms) && !memcmp(v, "RFB 003.008\n", 12) &&
           rfbp_write(fd, "RFB 003.008\n", 12);
}

bool rfbp_security_none(int fd, int timeout_ms, const char **why)
{
    uint8_t n, types[255], result[4];
    if (!rfbp_version(fd, timeout_ms, why))
        return false;
    *why = "security types";
    if (!rfbp_read(fd, &n, 1, timeout_ms) || !n || !rfbp_read(fd, types, n, timeout_ms) ||
        !memchr(types, 1, n) || !rfbp_write(fd, "\x01", 1))
        return false;
    *why = "SecurityResult";
    return rfbp_read(fd, result, sizeof(result), timeout_ms) && !rfbp_get32(result);
}

bool rfbp_init(int fd, bool shared, struct rfbp_server_init *si, int timeout_ms, const char **why)
{
    uint8_t b[24], name[MAX_NAME];
    *why = "ServerInit";
    if (!rfbp_write(fd, shared ? "\x01" : "\x00", 1) || !rfbp_read(fd, b, sizeof(b), timeout_ms))
        return false;
    *si = (struct rfbp_server_init){
        .w = (unsigned)b[0] << 8 | b[1],
        .h = (unsigned)b[2] << 8 | b[3],
        .bpp = b[4],
        .depth = b[5],
        .big_endian = b[6],
        .true_colour = b[7],
    };
    for (unsigned c = 0; c < 3; c++) {
        si->max[c] = (unsigned)b[8 + 2 * c] << 8 | b[9 + 2 * c];
        si->shift[c] = b[14 + c];
    }
    uint32_t nl = rfbp_get32(b + 20);
    *why = "ServerInit's name";
    return nl <= sizeof(name) && rfbp_read(fd, name, nl, timeout_ms);
}

bool rfbp_handshake(int fd, struct rfbp_server_init *si, int timeout_ms, const char **why)
{
    return rfbp_security_none(fd, timeout_ms, why) && rfbp_init(fd, true, si, timeout_ms, why);
}

bool rfbp_set_encodings_raw(int fd)
{
    static const uint8_t m[8] = {2, 0, 0, 1, 0, 0, 0, 0}; /* one encoding: 0, Raw */
    return rfbp_write(fd, m, sizeof(m));
}

bool rfbp_update_request(int fd, bool incremental, unsigned x, unsigned y, unsigned w, unsigned h)
{
    uint8_t m[10] = {3, incremental};
    rfbp_put16(m + 2, x);
    rfbp_put16(m + 4, y);
    rfbp_put16(m + 6, w);
    rfbp_put16(m + 8, h);
    return rfbp_write(fd, m, sizeof(m));
}
