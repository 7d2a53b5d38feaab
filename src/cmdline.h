/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The typed configuration xendm runs from, built by config_parse() out of
 * the qemu-style argv libxl passes (xl-contract.md §1.4, §1.5).  Parsing
 * checks syntax and everything that can be checked without the machine:
 * references between options (a -mon names a socket -chardev), ranges
 * (vCPUs, serial ports, boot letters) and options or -device drivers that
 * are not supported yet, each refused with one "xendm: <option>: <problem>"
 * line on stderr (design rule 6).  Whether a -device driver exists, and its
 * properties, is the machine's business: devices are kept as parsed opts.
 *
 * Everything here is owned by the struct and released by config_free().
 */
#ifndef XENDM_CMDLINE_H
#define XENDM_CMDLINE_H

#include <stdbool.h>
#include <stdint.h>

struct opts;

/* What QMP query-version reports and --version prints: libxl needs a QEMU
 * of at least 2.11, and Debian 12's qemu-xen is 7.2. */
#define CONFIG_QEMU_COMPAT_MAJOR   7
#define CONFIG_QEMU_COMPAT_MINOR   2
#define CONFIG_QEMU_COMPAT_MICRO   0
#define CONFIG_QEMU_COMPAT_VERSION "7.2.0"

#define CONFIG_MAX_SERIAL 4      /* COM1..COM4 */
#define CONFIG_MAX_VCPUS  128    /* HVM_MAX_VCPUS */
#define CONFIG_MAX_BOOT   3      /* boot devices a PC's CMOS can name */
#define CONFIG_MAX_DOMID  0x7fef /* DOMID_FIRST_RESERVED - 1 */

/* config_parse() results besides 0 (run) and -1 (error, message printed). */
#define CONFIG_PARSE_EXIT 1 /* --help / --version printed: exit 0 */

enum config_chardev_backend {
    CONFIG_CHARDEV_SOCKET,
    CONFIG_CHARDEV_PTY,      /* pseudo-terminal; its path goes to query-chardev */
    CONFIG_CHARDEV_NULL,     /* discard output, never any input */
    CONFIG_CHARDEV_FILE,     /* output appended/written to path */
    CONFIG_CHARDEV_SPICEVMC, /* a SPICE channel (vdagent, usbredir) */
};

enum config_socket_addr {
    CONFIG_SOCKET_UNIX, /* path= (unix:PATH) */
    CONFIG_SOCKET_FD,   /* fd=N: inherited, already bound (and listening if server) */
    CONFIG_SOCKET_TCP,  /* host=,port= (tcp:HOST:PORT) */
};

/*
 * One character device: -chardev, or one made by -serial (id "serialN", the
 * label libxl looks for in query-chardev) or -qmp (id "compat_monitorN"),
 * numbered as QEMU numbers them.
 */
struct config_chardev {
    char *id;
    enum config_chardev_backend backend;
    /* SOCKET */
    enum config_socket_addr addr;
    char *path;  /* SOCKET/UNIX: the socket; FILE: the file */
    int fd;      /* SOCKET/FD: the descriptor; -1 otherwise */
    char *host;  /* SOCKET/TCP: "" = every interface */
    char *port;  /* SOCKET/TCP: decimal, 1..65535 */
    bool server; /* listen (server=on) rather than connect */
    bool wait;   /* server only: block start-up until a client connects
                  * (QEMU's default for servers is on; libxl says off) */
    /* FILE */
    bool append;
    /* SPICEVMC */
    char *name; /* "vdagent", "usbredir", ... */
};

/* A QMP monitor (-mon ...,mode=control or -qmp).  Its chardev is a server
 * socket; no two monitors share one. */
struct config_monitor {
    char *chardev_id;
    unsigned chardev; /* index in config.chardevs */
    bool pretty;
};

/* -global DRIVER.PROPERTY=VALUE, for the machine to apply or refuse. */
struct config_global {
    char *driver, *property, *value;
};

enum config_machine {
    CONFIG_MACHINE_XENFV, /* i440FX + PIIX3 + Xen platform device */
    CONFIG_MACHINE_PC,    /* the same without the platform device */
};

/* -spice image-compression= and streaming-video= (QEMU's names). */
enum config_spice_ic {
    CONFIG_SPICE_IC_AUTO_GLZ, /* QEMU's default */
    CONFIG_SPICE_IC_AUTO_LZ,
    CONFIG_SPICE_IC_QUIC,
    CONFIG_SPICE_IC_GLZ,
    CONFIG_SPICE_IC_LZ,
    CONFIG_SPICE_IC_LZ4,
    CONFIG_SPICE_IC_OFF,
};
enum config_spice_sv {
    CONFIG_SPICE_SV_OFF, /* QEMU's default */
    CONFIG_SPICE_SV_ALL,
    CONFIG_SPICE_SV_FILTER,
};

/* -spice (xl-contract §1.5.5), for display/spice.c.  port / tls_port 0 =
 * none (at least one is non-zero); tls_port needs x509_dir; exactly one of
 * disable_ticketing / password unless neither was given (then ticketing is
 * on with no password: every client is refused until QMP set_password). */
struct config_spice {
    bool enabled;    /* -spice given */
    int port;        /* 0..65535 */
    int tls_port;    /* 0..65535 */
    char *addr;      /* NULL: every address */
    bool ipv4, ipv6; /* ipv4=on / ipv6=on: that family only */
    char *x509_dir;  /* NULL when absent */
    bool disable_ticketing;
    char *password;   /* NULL when absent; never printed */
    bool agent_mouse; /* default on */
    bool disable_copy_paste;
    bool disable_agent_file_xfer;
    enum config_spice_ic image_compression;
    enum config_spice_sv streaming_video;
};

enum config_sandbox_policy {
    CONFIG_SANDBOX_ALLOW,
    CONFIG_SANDBOX_DENY,
    CONFIG_SANDBOX_CHILDREN, /* elevateprivileges=children only */
};

struct config {
    /* Identity and control (§1.5.1) */
    uint32_t domid;     /* -xen-domid, required */
    bool no_shutdown;   /* -no-shutdown */
    bool start_stopped; /* -S: QMP status prelaunch until cont */
    char *name;         /* -name [guest=]NAME; NULL when absent */
    char *process_name; /* -name ...,process=; NULL when absent */
    bool debug_threads; /* -name ...,debug-threads=on (thread names) */

    /* Character devices, QMP monitors, serial ports (§1.5.2, §1.5.8) */
    struct config_chardev *chardevs;
    unsigned n_chardevs;
    struct config_monitor *monitors;
    unsigned n_monitors;
    unsigned serial[CONFIG_MAX_SERIAL]; /* chardev index of COM1.. in order */
    unsigned n_serial;                  /* "-serial none" adds no port */

    /* Machine (§1.5.10) */
    enum config_machine machine; /* default xenfv when -machine is absent */
    bool xen_platform;           /* true iff xenfv */
    bool suppress_vmdesc;        /* accepted, no effect */
    uint64_t max_ram_below_4g;   /* bytes; 0 = not given */
    uint64_t ram_mb;             /* -m; QEMU's default 128 when absent */
    struct {
        unsigned vcpus, maxcpus;                /* vcpus <= maxcpus <= CONFIG_MAX_VCPUS */
        unsigned sockets, dies, cores, threads; /* product == maxcpus */
    } smp;
    char boot_order[CONFIG_MAX_BOOT + 1]; /* letters of a, c, d, n; default "cad" */
    bool acpi;                            /* false with -no-acpi */
    struct opts **devices;                /* -device, argv order; ->implied = driver */
    unsigned n_devices;
    struct config_global *globals; /* -global, argv order */
    unsigned n_globals;

    /* Display (§1.5.3, §1.5.4) */
    char *vnc;      /* the -vnc value ("127.0.0.1:0,to=99"), NULL for none */
    char *keymap;   /* -k LAYOUT, NULL when absent (VNC's default: en-us) */
    bool nographic; /* -nographic: no effect */

    /* SPICE (§1.5.5): .enabled false when -spice is absent */
    struct config_spice spice;

    /* Deprivileging (§1.5.13), applied by src/depriv.c */
    bool domid_restrict; /* -xen-domid-restrict */
    char *chroot_dir;    /* -chroot; NULL when absent */
    char *runas_user;    /* -runas USER (looked up later); NULL otherwise */
    bool runas_ids;      /* -runas UID:GID */
    uint32_t runas_uid, runas_gid;
    struct {
        bool given;  /* -sandbox present */
        bool enable; /* -sandbox on */
        enum config_sandbox_policy obsolete, elevateprivileges, spawn, resourcecontrol;
    } sandbox;
};

/*
 * Fill *cfg from argv (argv[0] is the program).  Returns 0, or -1 after
 * printing one message to stderr, or CONFIG_PARSE_EXIT after printing
 * usage (-h, -help, --help) or the version (-version, --version) to stdout.
 * Unless it returned 0, *cfg holds nothing (config_free is harmless).
 * "--opt" is read as "-opt", as QEMU does.
 */
int config_parse(int argc, char **argv, struct config *cfg);
/* Release everything config_parse allocated; *cfg is zeroed. */
void config_free(struct config *cfg);

/* The chardev with this id, or NULL. */
const struct config_chardev *config_chardev_find(const struct config *cfg, const char *id);

#endif
