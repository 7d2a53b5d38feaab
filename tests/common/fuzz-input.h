/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A libFuzzer input read as a byte stream of operations and operands, for
 * the fuzzers in tests/fuzz (one translation unit each: the stream is
 * file-local state).  Reads past the end give 0, so every input is a
 * complete program.
 */
#ifndef TESTS_COMMON_FUZZ_INPUT_H
#define TESTS_COMMON_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static const uint8_t *fuzz_in, *fuzz_in_end;

/* Start reading data[0..size). */
static inline void fuzz_input(const uint8_t *data, size_t size)
{
    fuzz_in = data;
    fuzz_in_end = data + size;
}

static inline bool fuzz_more(void)
{
    return fuzz_in < fuzz_in_end;
}

/* The next byte (0 past the end). */
static inline uint8_t fuzz_next(void)
{
    return fuzz_in < fuzz_in_end ? *fuzz_in++ : 0;
}

/* The next n bytes (n <= 8) as a little-endian number. */
static inline uint64_t fuzz_next_n(unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)fuzz_next() << (8 * i);
    return v;
}

#endif
