/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The buffered ioreq ring (buffered_iopage_t, xen/include/public/hvm/ioreq.h):
 * Xen's producer side as hvm_send_buffered_ioreq() runs it for a
 * HVM_IOREQSRV_BUFIOREQ_ATOMIC server, and the device model's consumer side
 * as docs Part A7 describes it.
 *
 * Layout: read_pointer and write_pointer (free-running slot counters, 32 bits
 * each) followed by IOREQ_BUFFER_SLOT_NUM (511) 8-byte buf_ioreq_t slots.
 * A slot holds type, dir, a 2-bit size code (1 << code bytes), a 20-bit
 * address and 32 bits of data; an 8-byte request takes two consecutive slots,
 * the second a copy of the first carrying data bits 63..32.
 *
 * The two ends run in different threads (or processes sharing the page), so
 * everything shared goes through __atomic builtins, never a lock:
 *  - the producer fills slot(s), then release-stores write_pointer;
 *  - the consumer acquire-loads the pointers, reads the slot(s), then
 *    atomically adds the slots consumed to read_pointer;
 *  - the producer keeps both counters below 2 * 511 or so by subtracting a
 *    multiple of 511 from the pair with one 64-bit compare-and-swap, which
 *    leaves every "pointer % 511" unchanged.
 * Single producer and single consumer, as with Xen (the producer runs under
 * the ioreq server's lock) and a DM (one thread drains the ring).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/xensim/sim/bufring.h"

#define BUFRING_SLOTS    IOREQ_BUFFER_SLOT_NUM
#define BUFRING_MAX_ADDR (1u << 20) /* width of buf_ioreq_t.addr */

/* The {read, write} pair as one 64-bit word, like Xen's union
 * bufioreq_pointers; may_alias because the public header declares it as two
 * uint32_t fields. */
typedef uint64_t __attribute__((may_alias)) bufring_pair;

_Static_assert(offsetof(buffered_iopage_t, read_pointer) == 0, "read_pointer at offset 0");
_Static_assert(offsetof(buffered_iopage_t, write_pointer) == 4, "write_pointer at offset 4");
_Static_assert(sizeof(buf_ioreq_t) == 8, "buf_ioreq_t is 8 bytes");
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "bufring assumes read_pointer is the low half of the 64-bit pair (x86)"
#endif

static bufring_pair *bufring_pair_ptr(buffered_iopage_t *pg)
{
    return (bufring_pair *)(void *)&pg->read_pointer;
}

/* Size in bytes -> buf_ioreq_t size code, or -1. */
static int bufring_size_code(unsigned size)
{
    switch (size) {
    case 1:
        return 0;
    case 2:
        return 1;
    case 4:
        return 2;
    case 8:
        return 3;
    default:
        return -1;
    }
}

/* Once read_pointer has passed the ring size, pull both pointers back by the
 * same multiple of 511.  The consumer may advance read_pointer concurrently;
 * a failed compare-and-swap reloads the pair and tries again.  It ends: the
 * consumer can advance at most up to write_pointer, which only we move. */
static void bufring_canonicalise(buffered_iopage_t *pg)
{
    bufring_pair *pair = bufring_pair_ptr(pg);
    uint64_t old = __atomic_load_n(pair, __ATOMIC_ACQUIRE);

    for (;;) {
        uint32_t rp = (uint32_t)old, wp = (uint32_t)(old >> 32);
        uint32_t delta = (rp / BUFRING_SLOTS) * BUFRING_SLOTS;
        uint64_t new;

        if (rp < BUFRING_SLOTS)
            return;
        new = ((uint64_t)(wp - delta) << 32) | (rp - delta);
        if (__atomic_compare_exchange_n(pair, &old, new, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return;
    }
}

int bufring_push(buffered_iopage_t *pg, const struct bufreq *req)
{
    int code = bufring_size_code(req->size);
    unsigned qw = req->size == 8;
    uint32_t rp, wp;
    buf_ioreq_t bp = {0};

    if (code < 0 || req->addr >= BUFRING_MAX_ADDR || req->dir > 1)
        return -EINVAL;

    rp = __atomic_load_n(&pg->read_pointer, __ATOMIC_ACQUIRE);
    wp = __atomic_load_n(&pg->write_pointer, __ATOMIC_RELAXED); /* ours */
    if (wp - rp >= BUFRING_SLOTS - qw)
        return -ENOSPC;

    bp.type = req->type;
    bp.dir = req->dir & 1;
    bp.size = (unsigned)code & 3;
    bp.addr = req->addr & (BUFRING_MAX_ADDR - 1);
    bp.data = (uint32_t)req->data;
    pg->buf_ioreq[wp % BUFRING_SLOTS] = bp;
    if (qw) {
        bp.data = (uint32_t)(req->data >> 32);
        pg->buf_ioreq[(wp + 1) % BUFRING_SLOTS] = bp;
    }
    /* Publish: the slots become visible before the new write_pointer. */
    __atomic_store_n(&pg->write_pointer, wp + 1 + qw, __ATOMIC_RELEASE);

    bufring_canonicalise(pg);
    return 0;
}

int bufring_pop(buffered_iopage_t *pg, struct bufreq *out)
{
    uint32_t rp, wp;
    buf_ioreq_t bp;
    uint64_t data;
    unsigned size;

    /* A consistent snapshot: if read_pointer did not move while we read
     * write_pointer, the producer did not canonicalise in between. */
    do {
        rp = __atomic_load_n(&pg->read_pointer, __ATOMIC_ACQUIRE);
        wp = __atomic_load_n(&pg->write_pointer, __ATOMIC_ACQUIRE);
    } while (__atomic_load_n(&pg->read_pointer, __ATOMIC_ACQUIRE) != rp);

    if (rp == wp)
        return 0;

    bp = pg->buf_ioreq[rp % BUFRING_SLOTS];
    size = 1u << bp.size;
    data = bp.data;
    if (size == 8) {
        if (wp - rp < 2)
            return -EPROTO;
        data |= (uint64_t)pg->buf_ioreq[(rp + 1) % BUFRING_SLOTS].data << 32;
    }
    out->type = bp.type;
    out->dir = bp.dir;
    out->size = (uint8_t)size;
    out->addr = bp.addr;
    out->data = data;

    /* Release the slot(s) only after reading them. */
    __atomic_fetch_add(&pg->read_pointer, size == 8 ? 2 : 1, __ATOMIC_RELEASE);
    return 1;
}

unsigned bufring_used(buffered_iopage_t *pg)
{
    uint64_t pair = __atomic_load_n(bufring_pair_ptr(pg), __ATOMIC_ACQUIRE);

    return (uint32_t)(pair >> 32) - (uint32_t)pair;
}
