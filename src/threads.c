/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * thread_drop_caps(): capset(2) on the calling thread, without libcap-ng,
 * whose state is process-wide and not thread-safe.
 */
#include "config.h"

#include <linux/capability.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "src/threads.h"

int thread_drop_caps(void)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};
    return (int)syscall(SYS_capset, &hdr, data);
}

void thread_drop_caps_once(void)
{
    static __thread bool dropped;
    if (!dropped) {
        thread_drop_caps();
        dropped = true;
    }
}
