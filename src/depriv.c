/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Deprivileging, in this order (after every xenstore and libxenctrl use,
 * before the first ioreq is served):
 *  1. xentoolcore_restrict_all(domid): devicemodel, foreignmemory and evtchn
 *     handles act only on our domain; xenstore and libxenctrl handles die;
 *  2. resolve -runas (while /etc/passwd is still reachable), then chroot to
 *     -chroot DIR (needs root, so before dropping it);
 *  3. clear every capability and the bounding set, then switch to the -runas
 *     identity (libcap-ng's change_id: supplementary groups dropped too),
 *     checked that root cannot be regained; no_new_privs;
 *  4. resource limits: no core dumps;
 *  5. seccomp: an allow-list of the system calls the main loop, GLib, the
 *     libxen* libraries and our sockets need; anything else fails with
 *     EPERM, and process-creating or exec calls kill the process.
 * The same order as Xen's qemu-deprivilege design, with chroot before the
 * uid change because chroot needs root.
 */
#include "config.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "src/depriv.h"
#include "src/log.h"
#include "src/xen/xen.h"

static int resolve_user(const char *spec, uid_t *uid, gid_t *gid)
{
    unsigned long u, g;
    char extra;
    if (sscanf(spec, "%lu:%lu%c", &u, &g, &extra) == 2) {
        *uid = (uid_t)u;
        *gid = (gid_t)g;
        return 0;
    }
    struct passwd *pw = getpwnam(spec);
    if (!pw) {
        log_msg("depriv", "-runas %s: no such user", spec);
        return -1;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return 0;
}

/* Allowed: what an event loop over sockets, pipes, eventfds and the Xen
 * device files does; threads but no processes. */
static const int allowed[] = {
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
    SCMP_SYS(pwrite64), SCMP_SYS(close), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select),
    SCMP_SYS(pselect6), SCMP_SYS(restart_syscall), SCMP_SYS(epoll_wait),
    SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_create1), SCMP_SYS(recvmsg),
    SCMP_SYS(sendmsg), SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(accept4), SCMP_SYS(accept),
    SCMP_SYS(shutdown), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(getsockname),
    SCMP_SYS(getpeername), SCMP_SYS(socket), SCMP_SYS(socketpair), SCMP_SYS(connect),
    SCMP_SYS(bind), SCMP_SYS(listen),
    SCMP_SYS(fcntl), SCMP_SYS(ioctl), SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
    SCMP_SYS(statx), SCMP_SYS(openat), SCMP_SYS(pipe2), SCMP_SYS(dup), SCMP_SYS(dup3),
    SCMP_SYS(eventfd2), SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime), SCMP_SYS(mmap),
    SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(brk),
    SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(getrandom),
    SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
    SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
    SCMP_SYS(getegid), SCMP_SYS(tgkill), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
    SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(prctl), SCMP_SYS(uname), SCMP_SYS(capset),
    SCMP_SYS(unlink), SCMP_SYS(ftruncate), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
};

static const int deadly[] = {
    SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(ptrace),
    SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(chroot), SCMP_SYS(pivot_root), SCMP_SYS(setuid),
    SCMP_SYS(setgid), SCMP_SYS(setreuid), SCMP_SYS(setresuid), SCMP_SYS(kexec_load), SCMP_SYS(init_module),
};

static int install_seccomp(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    if (!ctx)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && !rc; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
    for (size_t i = 0; i < sizeof(deadly) / sizeof(deadly[0]) && !rc; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, deadly[i], 0);
    /* threads yes (clone with CLONE_THREAD), processes no; clone3 says
     * ENOSYS so glibc falls back to clone, whose flags we can inspect */
    if (!rc)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
    if (!rc)
        rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
    if (!rc)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    /* every thread, also those started before us (VNC's accept thread,
     * spice-server's worker); TSYNC sets their no_new_privs too */
    if (!rc)
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (!rc)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc)
        log_msg("depriv", "cannot install the seccomp filter: %s", strerror(-rc));
    return rc ? -1 : 0;
}

int depriv_apply(const struct depriv_params *p)
{
    if (p->restrict_xen && xen_restrict() < 0)
        return -1;

    uid_t uid = 0;
    gid_t gid = 0;
    if (p->runas && resolve_user(p->runas, &uid, &gid) < 0)
        return -1;

    if (p->chroot_dir) {
        if (chroot(p->chroot_dir) < 0 || chdir("/") < 0) {
            log_msg("depriv", "-chroot %s: %s", p->chroot_dir, strerror(errno));
            return -1;
        }
    }

    /* Every capability, and the bounding set: that needs CAP_SETPCAP, so
     * it goes before the uid change (libcap-ng does it in that order). */
    capng_clear(CAPNG_SELECT_BOTH);
    if (p->runas) {
        if (capng_change_id((int)uid, (int)gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) < 0) {
            log_msg("depriv", "-runas %s: cannot switch to uid %u gid %u", p->runas, (unsigned)uid,
                    (unsigned)gid);
            return -1;
        }
        if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
            log_msg("depriv", "-runas %s: root could be regained", p->runas);
            return -1;
        }
    } else if (capng_apply(CAPNG_SELECT_BOTH) < 0 && geteuid() == 0) {
        log_msg("depriv", "cannot drop capabilities");
        return -1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        log_msg("depriv", "cannot set no_new_privs: %s", strerror(errno));
        return -1;
    }

    /* No core dumps (they would hold guest memory).  Processes are kept out
     * by the seccomp filter, not RLIMIT_NPROC, which would also stop threads. */
    struct rlimit zero = {0, 0};
    setrlimit(RLIMIT_CORE, &zero);

    if (p->seccomp && install_seccomp() < 0)
        return -1;
    return 0;
}
