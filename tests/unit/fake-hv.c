/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The recording fake hypervisor of fake-hv.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/fake-hv.h"

struct fake_hv fake_hv;

__attribute__((constructor)) void fake_hv_reset(void)
{
    memset(&fake_hv, 0, sizeof(fake_hv));
    for (int i = 0; i < 4; i++)
        fake_hv.link_route[i] = -1;
    fake_hv.shutdown_reason = -1;
    fake_hv.next_device_gfn = 0x100000; /* 4 GiB */
}

int hv_set_isa_irq(unsigned irq, int level)
{
    if (irq >= 16)
        return -EINVAL;
    if (level && !fake_hv.isa_level[irq])
        fake_hv.isa_edges[irq]++;
    fake_hv.isa_level[irq] = !!level;
    return 0;
}

int hv_set_pci_intx(unsigned dev, unsigned pin, int level)
{
    if (dev >= 32 || pin >= 4)
        return -EINVAL;
    fake_hv.intx_level[dev][pin] = !!level;
    return 0;
}

int hv_set_pci_link_route(unsigned link, unsigned isa_irq)
{
    if (link >= 4 || isa_irq >= 16)
        return -EINVAL;
    fake_hv.link_route[link] = (int)isa_irq;
    return 0;
}

int hv_inject_msi(uint64_t addr, uint32_t data)
{
    unsigned i = fake_hv.msi_count++ % 64;
    fake_hv.msi_addr[i] = addr;
    fake_hv.msi_data[i] = data;
    return 0;
}

int hv_shutdown(unsigned reason)
{
    fake_hv.shutdown_reason = (int)reason;
    fake_hv.shutdown_calls++;
    return 0;
}

int hv_set_acpi_s_state(unsigned state)
{
    fake_hv.acpi_s_state = (int)state;
    return 0;
}

int hv_guest_read(uint64_t gpa, void *buf, size_t len)
{
    if (gpa >= FAKE_HV_RAM || len > FAKE_HV_RAM - gpa) {
        fake_hv.ram_faults++;
        return -EFAULT;
    }
    memcpy(buf, fake_hv.ram + gpa, len);
    return 0;
}

int hv_guest_write(uint64_t gpa, const void *buf, size_t len)
{
    if (gpa >= FAKE_HV_RAM || len > FAKE_HV_RAM - gpa) {
        fake_hv.ram_faults++;
        return -EFAULT;
    }
    memcpy(fake_hv.ram + gpa, buf, len);
    return 0;
}

/* Device RAM is never given back (there is no call for it, as on Xen, where
 * the frames belong to the domain): keep every allocation reachable so
 * LeakSanitizer does not call it a leak. */
#define FAKE_HV_MAX_DEVICE_RAM 256
static void *device_ram[FAKE_HV_MAX_DEVICE_RAM];
static unsigned n_device_ram;

void *hv_alloc_device_ram(const char *name, uint64_t size, uint64_t *gfn)
{
    if (!size || size % 4096 || n_device_ram == FAKE_HV_MAX_DEVICE_RAM)
        return NULL;
    void *p = aligned_alloc(4096, size);
    if (!p)
        return NULL;
    device_ram[n_device_ram++] = p;
    memset(p, 0, size);
    *gfn = fake_hv.next_device_gfn;
    fake_hv.next_device_gfn += size / 4096;
    return p;
}

int hv_relocate(uint64_t src_gfn, uint64_t dst_gfn, uint64_t nr)
{
    fake_hv.relocations++;
    fake_hv.last_reloc_src = src_gfn;
    fake_hv.last_reloc_dst = dst_gfn;
    fake_hv.last_reloc_nr = nr;
    return 0;
}

int hv_set_ram_readonly(uint64_t gfn, uint64_t nr, bool ro)
{
    return 0;
}

int hv_track_dirty_vram(uint64_t first_gfn, uint32_t nr, uint8_t *bitmap)
{
    fake_hv.dirty_vram_calls++;
    fake_hv.dirty_vram_first_gfn = first_gfn;
    fake_hv.dirty_vram_nr = nr;
    if (!nr)
        return 0;
    if (!fake_hv.dirty_vram_scripted) {
        /* the fake has no guest VRAM of its own: everything is dirty, always */
        memset(bitmap, 0xff, ((size_t)nr + 7) / 8);
        return 0;
    }
    memset(bitmap, 0, ((size_t)nr + 7) / 8);
    for (uint32_t i = 0; i < nr && i < FAKE_HV_DIRTY_VRAM_PAGES; i++) {
        uint8_t bit = (uint8_t)(1u << (i % 8));
        if (fake_hv.dirty_vram_mask[i / 8] & bit) {
            bitmap[i / 8] |= bit;
            fake_hv.dirty_vram_mask[i / 8] &= (uint8_t)~bit;
        }
    }
    return 0;
}

void fake_hv_dirty_vram_page(uint64_t page)
{
    if (page < FAKE_HV_DIRTY_VRAM_PAGES)
        fake_hv.dirty_vram_mask[page / 8] |= (uint8_t)(1u << (page % 8));
}
