/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xensimd: the simulated Xen as a program, for manual runs, demos and
 * benchmarks.  It creates a domain, starts the device model given after
 * `--` with the shims selected, waits until it is ready, runs a guest
 * script, then stops the DM (or keeps it running with --stay).
 *
 * Guest script: one command per line, '#' starts a comment.
 *   pci-setup                 hvmloader's PCI work; prints what it found
 *   outb|outw|outl PORT VAL   port writes
 *   inb|inw|inl PORT [VAL]    port reads; prints, or checks against VAL
 *   mmio-write ADDR SIZE VAL  mmio-read ADDR SIZE [VAL]
 *   pci-read BDF REG SIZE [VAL] / pci-write BDF REG SIZE VAL (BDF as bb:dd.f)
 *   load-rom BDF PATH         copy an option ROM to 0xC0000
 *   rom-init BDF              run the ROM's init under Unicorn
 *   int10 AX [BX CX DX]       call INT 10h
 *   print TEXT...             echo
 *   debug-log                 print what the guest wrote to ports 0xE9/0x402
 *   vga-text                  print the non-blank rows of the 80x25 text screen at 0xB8000
 *   stats                     ioreq counts and round-trip percentiles
 *   type TEXT...              print TEXT and a new line through INT 10h teletype
 *   sleep MS                  wait
 *   vbe-mode W H BPP          set a Bochs VBE linear mode (0x1ce/0x1cf)
 *   animate SECONDS TEXT...   draw a moving picture with TEXT (VBE 32 bpp mode)
 * Numbers take C syntax (0x..).  A failed check ends with exit status 1.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/xensim/xensim.h"
#include "tests/xensim/demo-guest.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: xensimd [options] -- DM-PROGRAM [DM-ARGS...]\n"
            "Run a device model (xendm or qemu-xen) on the simulated Xen.\n"
            "\n"
            "  -r, --ram MIB        guest RAM in MiB (default 128); pass the same to the DM's -m\n"
            "  -c, --vcpus N        vCPUs (default 1); the DM's -smp must agree\n"
            "  -d, --domid ID       domain id (default 1); the DM's -xen-domid must agree\n"
            "  -s, --script FILE    guest script to run once the DM is ready (- = stdin);\n"
            "                       default: pci-setup (enumerate the PCI bus and print it)\n"
            "  -t, --timeout SEC    how long to wait for the DM to become ready (default 30)\n"
            "  -k, --stay           keep the DM running after the script until SIGINT/SIGTERM\n"
            "  -v, --verbose        log every hypervisor call the DM makes\n"
            "  -h, --help           this text\n"
            "\n"
            "The DM gets LD_LIBRARY_PATH (the shims), XENSIM_SOCKET and XENSTORED_PATH;\n"
            "its output goes to <tmpdir>/dm.log, printed when it fails.\n"
            "Script commands are listed at the top of tests/xensim/xensimd.c.\n");
}

static unsigned long num(const char *s)
{
    return s ? strtoul(s, NULL, 0) : 0;
}

static uint16_t parse_bdf(const char *s)
{
    unsigned b = 0, d = 0, f = 0;
    if (sscanf(s, "%x:%x.%x", &b, &d, &f) != 3)
        return 0xffff;
    return (uint16_t)(b << 8 | d << 3 | f);
}

static void print_pci(xsim *x)
{
    unsigned n;
    const struct xsim_pci_fn *fn = xsim_fw_pci_functions(x, &n);
    for (unsigned i = 0; i < n; i++) {
        printf("  %02x:%02x.%x  %04x:%04x  class %06x rev %02x", fn[i].bdf >> 8, (fn[i].bdf >> 3) & 31,
               fn[i].bdf & 7, fn[i].vendor, fn[i].device, fn[i].class_rev >> 8, fn[i].class_rev & 0xff);
        if (fn[i].irq_pin)
            printf("  INT%c# -> IRQ %u", 'A' + fn[i].irq_pin - 1, fn[i].irq_line);
        printf("\n");
        for (int b = 0; b < 6; b++)
            if (fn[i].bar[b].size)
                printf("      BAR%d %s %#llx size %#llx%s\n", b, fn[i].bar[b].is_io ? "io " : "mem",
                       (unsigned long long)fn[i].bar[b].addr, (unsigned long long)fn[i].bar[b].size,
                       fn[i].bar[b].is_64 ? " 64-bit" : "");
        if (fn[i].rom.size)
            printf("      ROM     %#llx size %#llx\n", (unsigned long long)fn[i].rom.addr,
                   (unsigned long long)fn[i].rom.size);
    }
}

static int check(const char *what, unsigned long got, const char *want)
{
    if (!want) {
        printf("%s = %#lx\n", what, got);
        return 0;
    }
    if (got == num(want)) {
        printf("%s = %#lx, as expected\n", what, got);
        return 0;
    }
    fprintf(stderr, "xensimd: %s = %#lx, expected %s\n", what, got, want);
    return -1;
}

static volatile sig_atomic_t stop;

/* The words argv[from..] joined by single spaces (strtok cut them apart). */
static const char *line_rest(char **argv, int argc, int from)
{
    static char buf[1024];
    buf[0] = 0;
    for (int i = from; i < argc; i++) {
        if (i > from)
            strncat(buf, " ", sizeof(buf) - strlen(buf) - 1);
        strncat(buf, argv[i], sizeof(buf) - strlen(buf) - 1);
    }
    return buf;
}

static int run_line(xsim *x, char *line)
{
    char *argv[32] = {0};
    int argc = 0;
    char *hash = strchr(line, '#');
    if (hash)
        *hash = 0;
    if (!strncmp(line, "print", 5) && (line[5] == ' ' || line[5] == '\n')) {
        fputs(line + 6, stdout);
        return 0;
    }
    for (char *t = strtok(line, " \t\r\n"); t && argc < 32; t = strtok(NULL, " \t\r\n"))
        argv[argc++] = t;
    if (!argc)
        return 0;
    const char *c = argv[0];
    int rc = 0;
    if (!strcmp(c, "pci-setup")) {
        int n = xsim_fw_pci_setup(x);
        printf("PCI bus 0: %d function%s\n", n, n == 1 ? "" : "s");
        print_pci(x);
        rc = n < 0 ? -1 : 0;
    } else if (!strcmp(c, "outb") || !strcmp(c, "outw") || !strcmp(c, "outl")) {
        unsigned size = c[3] == 'b' ? 1 : c[3] == 'w' ? 2 : 4;
        guest_out_v(0, (uint16_t)num(argv[1]), size, (uint32_t)num(argv[2]));
    } else if (!strcmp(c, "inb") || !strcmp(c, "inw") || !strcmp(c, "inl")) {
        unsigned size = c[2] == 'b' ? 1 : c[2] == 'w' ? 2 : 4;
        char what[64];
        snprintf(what, sizeof(what), "%s %#lx", c, num(argv[1]));
        rc = check(what, guest_in_v(0, (uint16_t)num(argv[1]), size), argv[2]);
    } else if (!strcmp(c, "mmio-write")) {
        guest_mmio_write(num(argv[1]), (unsigned)num(argv[2]), num(argv[3]));
    } else if (!strcmp(c, "mmio-read")) {
        char what[64];
        snprintf(what, sizeof(what), "mmio %#lx", num(argv[1]));
        rc = check(what, (unsigned long)guest_mmio_read(num(argv[1]), (unsigned)num(argv[2])), argv[3]);
    } else if (!strcmp(c, "pci-read") && argc >= 4) {
        char what[64];
        snprintf(what, sizeof(what), "pci %s reg %#lx", argv[1], num(argv[2]));
        rc = check(what, guest_pci_read(parse_bdf(argv[1]), (unsigned)num(argv[2]), (unsigned)num(argv[3])),
                   argv[4]);
    } else if (!strcmp(c, "pci-write") && argc >= 5) {
        guest_pci_write(parse_bdf(argv[1]), (unsigned)num(argv[2]), (unsigned)num(argv[3]),
                        (uint32_t)num(argv[4]));
    } else if (!strcmp(c, "load-rom") && argc >= 3) {
        rc = xsim_fw_load_rom(x, parse_bdf(argv[1]), argv[2]);
    } else if (!strcmp(c, "rom-init") && argc >= 2) {
        rc = xsim_rom_init(x, parse_bdf(argv[1]));
    } else if (!strcmp(c, "int10") && argc >= 2) {
        struct x86regs r = {.eax = (uint32_t)num(argv[1]), .ebx = (uint32_t)num(argv[2]),
                            .ecx = (uint32_t)num(argv[3]), .edx = (uint32_t)num(argv[4])};
        rc = xsim_int10(x, &r);
    } else if (!strcmp(c, "vga-text")) {
        uint8_t cells[80 * 25 * 2];
        guest_mem_read(0xb8000, cells, sizeof(cells)); /* through the VGA device, like a CPU */
        for (int row = 0; row < 25; row++) {
            char text[81];
            for (int col = 0; col < 80; col++) {
                uint8_t ch = cells[(row * 80 + col) * 2];
                text[col] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
            }
            int end = 80;
            while (end > 0 && text[end - 1] == ' ')
                end--;
            text[end] = 0;
            if (end)
                printf("  row %2d | %s\n", row, text);
        }
    } else if (!strcmp(c, "type")) {
        rc = demo_type(x, line_rest(argv, argc, 1));
    } else if (!strcmp(c, "sleep") && argc >= 2) {
        usleep((useconds_t)num(argv[1]) * 1000);
    } else if (!strcmp(c, "vbe-mode") && argc >= 4) {
        rc = demo_vbe_mode((unsigned)num(argv[1]), (unsigned)num(argv[2]), (unsigned)num(argv[3]));
    } else if (!strcmp(c, "animate") && argc >= 2) {
        rc = demo_animate(x, (unsigned)num(argv[1]), line_rest(argv, argc, 2), &stop);
    } else if (!strcmp(c, "debug-log")) {
        printf("%s\n", xsim_debug_log(x));
    } else if (!strcmp(c, "stats")) {
        struct xsim_stats st;
        xsim_stats(x, &st);
        printf("ioreqs: %llu sync, %llu buffered (pio %llu, mmio %llu, pci %llu); "
               "round trip p50 %llu ns, p99 %llu ns; DM CPU %.1f ms, RSS %llu KiB\n",
               (unsigned long long)st.sync, (unsigned long long)st.buffered, (unsigned long long)st.pio,
               (unsigned long long)st.copy, (unsigned long long)st.pci_config,
               (unsigned long long)xsim_lat_percentile(&st, 50), (unsigned long long)xsim_lat_percentile(&st, 99),
               (double)st.dm_cpu_ns / 1e6, (unsigned long long)st.dm_rss_kb);
    } else {
        fprintf(stderr, "xensimd: unknown or incomplete script command '%s'\n", c);
        rc = -1;
    }
    if (xsim_error(x))
        rc = -1;
    return rc;
}

static void on_signal(int sig)
{
    stop = sig;
}

int main(int argc, char **argv)
{
    struct xsim_config cfg = {0};
    const char *script = NULL;
    int timeout = 30, stay = 0;
    static const struct option opts[] = {
        {"ram", 1, 0, 'r'}, {"vcpus", 1, 0, 'c'}, {"domid", 1, 0, 'd'}, {"script", 1, 0, 's'},
        {"timeout", 1, 0, 't'}, {"stay", 0, 0, 'k'}, {"verbose", 0, 0, 'v'}, {"help", 0, 0, 'h'}, {0}};
    int o;
    while ((o = getopt_long(argc, argv, "+r:c:d:s:t:kvh", opts, NULL)) != -1) {
        switch (o) {
        case 'r': cfg.ram_mb = (unsigned)num(optarg); break;
        case 'c': cfg.vcpus = (unsigned)num(optarg); break;
        case 'd': cfg.domid = (unsigned)num(optarg); break;
        case 's': script = optarg; break;
        case 't': timeout = (int)num(optarg); break;
        case 'k': stay = 1; break;
        case 'v': cfg.verbose = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    xsim *x = xsim_create(&cfg);
    if (!x)
        return 1;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (xsim_spawn_dm(x, argv + optind, NULL) < 0 || xsim_wait_dm_ready(x, timeout * 1000) < 0) {
        fprintf(stderr, "xensimd: %s\n", xsim_dm_diag(x));
        xsim_destroy(x);
        return 1;
    }
    printf("xensimd: %s (pid %d) is ready on domain %u\n", argv[optind], (int)xsim_dm_pid(x),
           cfg.domid ? cfg.domid : 1);
    fflush(stdout);
    int rc = 0;
    FILE *f = NULL;
    if (script)
        f = strcmp(script, "-") ? fopen(script, "r") : stdin;
    if (script && !f) {
        fprintf(stderr, "xensimd: %s: %s\n", script, strerror(errno));
        rc = 1;
    } else if (f) {
        char line[1024];
        while (!stop && !rc && fgets(line, sizeof(line), f))
            rc = run_line(x, line) < 0;
        if (f != stdin)
            fclose(f);
    } else {
        char line[] = "pci-setup";
        rc = run_line(x, line) < 0;
    }
    fflush(stdout);
    if (rc)
        fprintf(stderr, "xensimd: the guest script failed: %s\n", xsim_dm_diag(x));
    while (stay && !stop && !rc) {
        int status;
        if (xsim_wait_dm_exit(x, 500, &status) == 0) {
            fprintf(stderr, "xensimd: %s\n", xsim_dm_diag(x));
            rc = 1;
        }
    }
    static const char *const reasons[] = {"power-off", "reboot", "suspend", "crash", "watchdog", "soft reset"};
    int reason = xsim_shutdown_reason(x);
    if (reason >= 0 && reason < 6)
        printf("xensimd: the guest asked Xen for a %s\n", reasons[reason]);
    int status = xsim_stop_dm(x, 5000);
    if (!rc)
        printf("xensimd: device model stopped (wait status %#x)\n", status);
    xsim_destroy(x);
    return rc;
}
