/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Real BIOS code as the guest: option ROMs (the SeaBIOS VGA BIOSes) run in
 * 16-bit real mode on Unicorn, on vCPU 0 of the current simulator.
 *
 * Wiring (docs Part E): guest RAM 0-0x9FFFF and 0xC0000-0xFFFFF are the
 * simulator's own RAM frames (uc_mem_map_ptr), so the DM sees what the ROM
 * writes there; 0xA0000-0xBFFFF is MMIO whose callbacks issue COPY ioreqs
 * (single writes go through the buffered ring, as on Xen); IN/OUT become
 * PIO ioreqs.  INT n executed by the ROM is vectored through the real-mode
 * IVT by hand (Unicorn leaves that to the host).  Addresses from 1 MiB to
 * 4 GiB (reached with 32-bit address overrides, e.g. SeaVGABIOS reading
 * the EDID from the std VGA's MMIO BAR) go through guest_mmio_read/write.  Every IVT entry starts
 * out pointing at an IRET at F000:FF53; the ROM installs its own INT 10h.
 *
 * Unicorn is loaded with dlopen(RTLD_LOCAL | RTLD_DEEPBIND): libunicorn
 * exports its own copies of GLib functions (g_hash_table_new, ...) which,
 * linked normally, would replace GLib's for the whole test process.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unicorn/unicorn.h>

#include "sim.h"

#define ROM_STUB 0x500U      /* HLT where ROM calls return to */
#define ROM_STACK 0x7000U    /* SS:SP = 0000:7000 */
#define ROM_IRET_SEG 0xf000U /* default handler F000:FF53 = IRET */
#define ROM_IRET_OFF 0xff53U
/* Instruction budget and wall-clock limit for one ROM call: a mode set
 * takes ~2 M instructions (font upload, screen clear). */
#define ROM_MAX_INSNS 50000000ULL
#define ROM_TIMEOUT_US 30000000ULL

struct uc_api {
    void *dl;
    uc_err (*open)(uc_arch, uc_mode, uc_engine **);
    uc_err (*close)(uc_engine *);
    uc_err (*mem_map_ptr)(uc_engine *, uint64_t, size_t, uint32_t, void *);
    uc_err (*mmio_map)(uc_engine *, uint64_t, size_t, uc_cb_mmio_read_t, void *, uc_cb_mmio_write_t, void *);
    uc_err (*hook_add)(uc_engine *, uc_hook *, int, void *, void *, uint64_t, uint64_t, ...);
    uc_err (*reg_read)(uc_engine *, int, void *);
    uc_err (*reg_write)(uc_engine *, int, const void *);
    uc_err (*emu_start)(uc_engine *, uint64_t, uint64_t, uint64_t, size_t);
    const char *(*strerror)(uc_err);
};

struct rom {
    struct uc_api api;
    uc_engine *uc;
    uint8_t *low;  /* guest 0-0x9FFFF */
    uint8_t *high; /* guest 0xC0000-0xFFFFF */
    uint64_t bad_addr; /* last access outside the first MiB */
};

static uint32_t on_in(uc_engine *uc, uint32_t port, int size, void *opaque)
{
    return guest_in_v(0, (uint16_t)port, (unsigned)size);
}

static void on_out(uc_engine *uc, uint32_t port, int size, uint32_t value, void *opaque)
{
    guest_out_v(0, (uint16_t)port, (unsigned)size, value);
}

static uint64_t on_vga_read(uc_engine *uc, uint64_t off, unsigned size, void *opaque)
{
    return guest_mmio_read(0xa0000 + off, size);
}

static void on_vga_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t value, void *opaque)
{
    guest_mmio_write(0xa0000 + off, size, value);
}

static bool on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value, void *opaque)
{
    struct rom *r = opaque;
    r->bad_addr = addr;
    return false; /* stop: real-mode ROM code has no business up there */
}

/* Above 1 MiB (32-bit addressing from real mode, e.g. the EDID in a BAR):
 * like a CPU, RAM directly and MMIO as ioreqs. */
static uint64_t on_high_read(uc_engine *uc, uint64_t off, unsigned size, void *opaque)
{
    return guest_mmio_read(0x100000 + off, size);
}

static void on_high_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t value, void *opaque)
{
    guest_mmio_write(0x100000 + off, size, value);
}

static uint8_t *rm_ptr(struct rom *r, uint32_t linear)
{
    if (linear < 0xa0000)
        return r->low + linear;
    if (linear >= 0xc0000 && linear < 0x100000)
        return r->high + (linear - 0xc0000);
    return NULL;
}

/* Real-mode interrupt: push FLAGS, CS, IP; clear IF/TF; jump via the IVT. */
static void on_intr(uc_engine *uc, uint32_t vector, void *opaque)
{
    struct rom *r = opaque;
    uint16_t sp, ss, ip, cs, vec[2];
    uint32_t fl;
    r->api.reg_read(uc, UC_X86_REG_SP, &sp);
    r->api.reg_read(uc, UC_X86_REG_SS, &ss);
    r->api.reg_read(uc, UC_X86_REG_IP, &ip);
    r->api.reg_read(uc, UC_X86_REG_CS, &cs);
    r->api.reg_read(uc, UC_X86_REG_EFLAGS, &fl);
    uint16_t frame[3] = {ip, cs, (uint16_t)fl};
    sp = (uint16_t)(sp - 6);
    uint8_t *stack = rm_ptr(r, (uint32_t)ss * 16 + sp);
    if (!stack || vector > 255)
        return;
    memcpy(stack, frame, sizeof(frame));
    memcpy(vec, r->low + vector * 4, sizeof(vec));
    fl &= ~(0x200u | 0x100u);
    r->api.reg_write(uc, UC_X86_REG_SP, &sp);
    r->api.reg_write(uc, UC_X86_REG_EFLAGS, &fl);
    r->api.reg_write(uc, UC_X86_REG_CS, &vec[1]);
    r->api.reg_write(uc, UC_X86_REG_IP, &vec[0]);
}

static int load_api(struct uc_api *a)
{
    a->dl = dlopen("libunicorn.so.2", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!a->dl)
        return -1;
#define SYM(field, name)                                                                           \
    do {                                                                                           \
        *(void **)&a->field = dlsym(a->dl, name);                                                  \
        if (!a->field)                                                                             \
            return -1;                                                                             \
    } while (0)
    SYM(open, "uc_open");
    SYM(close, "uc_close");
    SYM(mem_map_ptr, "uc_mem_map_ptr");
    SYM(mmio_map, "uc_mmio_map");
    SYM(hook_add, "uc_hook_add");
    SYM(reg_read, "uc_reg_read");
    SYM(reg_write, "uc_reg_write");
    SYM(emu_start, "uc_emu_start");
    SYM(strerror, "uc_strerror");
#undef SYM
    return 0;
}

static struct rom *rom_get(xsim *x)
{
    if (x->rom)
        return x->rom;
    struct rom *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    if (load_api(&r->api) < 0) {
        xsim_set_error(x, "cannot load libunicorn.so.2 (Debian package libunicorn2): %s", dlerror());
        free(r);
        return NULL;
    }
    xsim *saved = xsim_current();
    xsim_select(x);
    r->low = guest_ram_ptr(0, 0xa0000);
    r->high = guest_ram_ptr(0xc0000, 0x40000);
    xsim_select(saved);
    uc_hook h;
    if (!r->low || !r->high || r->api.open(UC_ARCH_X86, UC_MODE_16, &r->uc) != UC_ERR_OK ||
        r->api.mem_map_ptr(r->uc, 0, 0xa0000, UC_PROT_ALL, r->low) != UC_ERR_OK ||
        r->api.mem_map_ptr(r->uc, 0xc0000, 0x40000, UC_PROT_ALL, r->high) != UC_ERR_OK ||
        r->api.mmio_map(r->uc, 0xa0000, 0x20000, on_vga_read, r, on_vga_write, r) != UC_ERR_OK ||
        r->api.mmio_map(r->uc, 0x100000, 0xfff00000ULL, on_high_read, r, on_high_write, r) != UC_ERR_OK ||
        r->api.hook_add(r->uc, &h, UC_HOOK_INSN, (void *)on_in, r, 1, 0, UC_X86_INS_IN) != UC_ERR_OK ||
        r->api.hook_add(r->uc, &h, UC_HOOK_INSN, (void *)on_out, r, 1, 0, UC_X86_INS_OUT) != UC_ERR_OK ||
        r->api.hook_add(r->uc, &h, UC_HOOK_INTR, (void *)on_intr, r, 1, 0) != UC_ERR_OK ||
        r->api.hook_add(r->uc, &h, UC_HOOK_MEM_UNMAPPED, (void *)on_unmapped, r, 1, 0) != UC_ERR_OK) {
        xsim_set_error(x, "cannot set up the Unicorn CPU for ROM code");
        if (r->uc)
            r->api.close(r->uc);
        dlclose(r->api.dl);
        free(r);
        return NULL;
    }
    /* A minimal real-mode world: IVT -> IRET, HLT at the return stub. */
    for (unsigned v = 0; v < 256; v++) {
        uint16_t e[2] = {ROM_IRET_OFF, ROM_IRET_SEG};
        memcpy(r->low + v * 4, e, sizeof(e));
    }
    *rm_ptr(r, ROM_IRET_SEG * 16 + ROM_IRET_OFF) = 0xcf; /* IRET */
    r->low[ROM_STUB] = 0xf4;                             /* HLT */
    x->rom = r;
    return r;
}

/* Run from cs:ip until execution reaches the stub.  `frame` is what sits on
 * the stack (return address, and FLAGS for an interrupt). */
static int rom_run(xsim *x, struct rom *r, uint16_t cs, uint16_t ip, const uint16_t *frame, unsigned nframe,
                   struct x86regs *regs)
{
    uint16_t sp = (uint16_t)(ROM_STACK - 2 * nframe), zero = 0;
    memcpy(r->low + sp, frame, 2 * nframe);
    uc_engine *uc = r->uc;
    r->api.reg_write(uc, UC_X86_REG_SS, &zero);
    r->api.reg_write(uc, UC_X86_REG_SP, &sp);
    r->api.reg_write(uc, UC_X86_REG_DS, &regs->ds);
    r->api.reg_write(uc, UC_X86_REG_ES, &regs->es);
    r->api.reg_write(uc, UC_X86_REG_EAX, &regs->eax);
    r->api.reg_write(uc, UC_X86_REG_EBX, &regs->ebx);
    r->api.reg_write(uc, UC_X86_REG_ECX, &regs->ecx);
    r->api.reg_write(uc, UC_X86_REG_EDX, &regs->edx);
    r->api.reg_write(uc, UC_X86_REG_ESI, &regs->esi);
    r->api.reg_write(uc, UC_X86_REG_EDI, &regs->edi);
    r->api.reg_write(uc, UC_X86_REG_EBP, &regs->ebp);
    r->api.reg_write(uc, UC_X86_REG_CS, &cs);
    xsim *saved = xsim_current();
    xsim_select(x);
    uc_err e = r->api.emu_start(uc, (uint64_t)cs * 16 + ip, ROM_STUB, ROM_TIMEOUT_US, ROM_MAX_INSNS);
    xsim_select(saved);
    uint16_t ncs, nip;
    r->api.reg_read(uc, UC_X86_REG_CS, &ncs);
    r->api.reg_read(uc, UC_X86_REG_IP, &nip);
    r->api.reg_read(uc, UC_X86_REG_EAX, &regs->eax);
    r->api.reg_read(uc, UC_X86_REG_EBX, &regs->ebx);
    r->api.reg_read(uc, UC_X86_REG_ECX, &regs->ecx);
    r->api.reg_read(uc, UC_X86_REG_EDX, &regs->edx);
    r->api.reg_read(uc, UC_X86_REG_ESI, &regs->esi);
    r->api.reg_read(uc, UC_X86_REG_EDI, &regs->edi);
    r->api.reg_read(uc, UC_X86_REG_EBP, &regs->ebp);
    r->api.reg_read(uc, UC_X86_REG_DS, &regs->ds);
    r->api.reg_read(uc, UC_X86_REG_ES, &regs->es);
    r->api.reg_read(uc, UC_X86_REG_EFLAGS, &regs->eflags);
    if (e != UC_ERR_OK || (uint32_t)ncs * 16 + nip != ROM_STUB) {
        xsim_set_error(x, "ROM code did not return (%s) at %04x:%04x, last unmapped access %#llx",
                       r->api.strerror(e), ncs, nip, (unsigned long long)r->bad_addr);
        return -1;
    }
    return xsim_error(x) ? -1 : 0;
}

int xsim_rom_init(xsim *x, uint16_t bdf)
{
    struct rom *r = rom_get(x);
    if (!r)
        return -1;
    if (r->high[0] != 0x55 || r->high[1] != 0xaa) {
        xsim_set_error(x, "no option ROM at 0xC0000 (use xsim_fw_load_rom first)");
        return -1;
    }
    /* far call C000:0003 with AX = bus/devfn, returning to 0000:STUB */
    uint16_t frame[2] = {ROM_STUB, 0};
    struct x86regs regs = {.eax = bdf};
    return rom_run(x, r, 0xc000, 0x0003, frame, 2, &regs);
}

int xsim_int10(xsim *x, struct x86regs *regs)
{
    struct rom *r = rom_get(x);
    if (!r)
        return -1;
    uint16_t vec[2];
    memcpy(vec, r->low + 0x10 * 4, sizeof(vec));
    uint16_t frame[3] = {ROM_STUB, 0, 0x0202};
    return rom_run(x, r, vec[1], vec[0], frame, 3, regs);
}

void rom_free(xsim *x)
{
    struct rom *r = x->rom;
    if (!r)
        return;
    r->api.close(r->uc);
    dlclose(r->api.dl);
    free(r);
    x->rom = NULL;
}
