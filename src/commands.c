/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QMP commands of the whole machine, as libxl 4.17 uses them
 * (xl-contract §2.5): query-status, cont, stop, query-cpus-fast, query-vnc,
 * query-spice, set_password / expire_password (vnc and spice),
 * query-pci, xen-set-global-dirty-log, xen-save-devices-state,
 * system_wakeup, human-monitor-command, query-chardev, and the input
 * commands tests use (send-key, input-send-event).  Plus
 * x-xendm-query-ioreq-stats, xendm's own counters (the "x-" prefix marks it
 * as not part of QEMU's interface).
 *
 * Device state blob (xen-save-devices-state): "XENDM-STATE 1\n" followed by
 * a JSON description of the machine's devices.  Devices do not save their
 * registers yet, so `-incoming` is refused: a guest saved by xendm cannot be
 * restored until they do, and none saved by qemu-xen ever can.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "devices/pci.h"
#include "display/fb.h"
#include "display/input.h"
#ifdef HAVE_SPICE
#include "display/spice.h"
#endif
#include "display/vnc.h"
#include "src/chardev.h"
#include "src/commands.h"
#include "src/hv.h"
#include "src/log.h"
#include "src/machine.h"
#include "src/qmp.h"
#include "src/xen/xen.h"

#define HOLD_TIME_DEFAULT_MS 100 /* QEMU's send-key default */

static unsigned nr_vcpus = 1;
static struct vnc *vnc;

void commands_set_vnc(struct vnc *v)
{
    vnc = v;
}

static JsonNode *cmd_query_status(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "status");
    json_builder_add_string_value(b, machine_state_name(machine_state()));
    json_builder_set_member_name(b, "singlestep");
    json_builder_add_boolean_value(b, FALSE);
    json_builder_set_member_name(b, "running");
    json_builder_add_boolean_value(b, machine_state() == MACHINE_RUNNING);
    json_builder_end_object(b);
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
}

static JsonNode *cmd_cont(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    enum machine_state s = machine_state();
    if (s == MACHINE_SHUTDOWN)
        return qmp_err_generic(err, "Resetting the Virtual Machine is required");
    if (s != MACHINE_RUNNING && s != MACHINE_SUSPENDED)
        machine_set_state(MACHINE_RUNNING); /* cont while running: nothing (libxl sends it anyway) */
    return NULL;
}

static JsonNode *cmd_stop(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    if (machine_state() == MACHINE_RUNNING || machine_state() == MACHINE_PRELAUNCH)
        machine_set_state(MACHINE_PAUSED);
    return NULL;
}

static JsonNode *cmd_query_cpus_fast(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_array(b);
    for (unsigned i = 0; i < nr_vcpus; i++) {
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "cpu-index");
        json_builder_add_int_value(b, i);
        json_builder_set_member_name(b, "qom-path");
        char *path = g_strdup_printf("/machine/unattached/device[%u]", i);
        json_builder_add_string_value(b, path);
        g_free(path);
        json_builder_set_member_name(b, "thread-id");
        json_builder_add_int_value(b, getpid()); /* vCPUs run in Xen; one thread serves them all */
        json_builder_set_member_name(b, "target");
        json_builder_add_string_value(b, "x86_64");
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
}

static JsonNode *cmd_query_vnc(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    JsonBuilder *b = json_builder_new();
#ifdef HAVE_VNC
    vnc_query(vnc, b);
#else
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "enabled");
    json_builder_add_boolean_value(b, FALSE);
    json_builder_end_object(b);
#endif
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
}

static JsonNode *set_vnc_password(const char *pw, GError **err)
{
#ifdef HAVE_VNC
    if (vnc && vnc_set_password(vnc, pw) == 0)
        return NULL;
#endif
    return qmp_err_generic(err, "Could not set password");
}

/* change-vnc-password {"password"}: what libxl sends when vncpasswd is set */
static JsonNode *cmd_change_vnc_password(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    const char *pw;
    if (qmp_arg_str(args, "password", QMP_ARG_REQUIRED, &pw, err) < 0)
        return NULL;
    return set_vnc_password(pw, err);
}

/* ---- SPICE (display/spice.c): query-spice, set_password and
 * expire_password with protocol=spice, QEMU's replies and errors ---- */

static JsonNode *cmd_query_spice(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    JsonBuilder *b = json_builder_new();
#ifdef HAVE_SPICE
    spice_query(b);
#else
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "enabled");
    json_builder_add_boolean_value(b, FALSE);
    json_builder_set_member_name(b, "migrated");
    json_builder_add_boolean_value(b, FALSE);
    json_builder_set_member_name(b, "mouse-mode");
    json_builder_add_string_value(b, "client");
    json_builder_end_object(b);
#endif
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
}

static JsonNode *set_spice_password(const char *pw, const char *connected, GError **err)
{
#ifdef HAVE_SPICE
    int rc = spice_set_password(pw, connected);
    if (rc == 0)
        return NULL;
    if (rc != -ENODEV)
        return qmp_err_generic(err, "Could not set password");
#endif
    return qmp_err_device_not_active(err, "SPICE is not in use");
}

static JsonNode *cmd_expire_password(struct qmp_conn *c, JsonObject *args, void *opaque,
                                     GError **err)
{
    const char *protocol, *when;
    if (qmp_arg_str(args, "protocol", QMP_ARG_REQUIRED, &protocol, err) < 0 ||
        qmp_arg_str(args, "time", QMP_ARG_REQUIRED, &when, err) < 0)
        return NULL;
    if (!strcmp(protocol, "vnc"))
        return qmp_err_generic(err, "Could not set password expire time");
    if (strcmp(protocol, "spice"))
        return qmp_err_generic(err, "Parameter 'protocol' does not accept value '%s'", protocol);
#ifdef HAVE_SPICE
    int rc = spice_expire_password(when);
    if (rc == 0)
        return NULL;
    if (rc == -EINVAL)
        return qmp_err_generic(err, "Parameter 'time' does not accept value '%s'", when);
#endif
    return qmp_err_device_not_active(err, "SPICE is not in use");
}

/* x-xendm-query-spice-stats: the SPICE front end's counters (tests). */
static JsonNode *cmd_spice_stats(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
#ifdef HAVE_SPICE
    if (!spice_display_server())
        return qmp_err_device_not_active(err, "SPICE is not in use");
    struct spice_stats st;
    spice_get_stats(&st);
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
#define STAT(name, field)                                                                          \
    json_builder_set_member_name(b, name);                                                         \
    json_builder_add_int_value(b, (gint64)st.field)
    STAT("commands", commands);
    STAT("released", released);
    STAT("bytes", bytes);
    STAT("surfaces", surfaces);
    STAT("keys", keys);
    STAT("bad-scancodes", bad_scancodes);
    STAT("pointer-events", pointer_events);
    STAT("width", width);
    STAT("height", height);
    STAT("channels", channels);
#undef STAT
    json_builder_end_object(b);
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
#else
    return qmp_err_device_not_active(err, "SPICE is not in use");
#endif
}

/* set_password {"protocol": "vnc"|"spice", "password", "connected"?} */
static JsonNode *cmd_set_password(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    const char *protocol, *pw, *connected = NULL;
    if (qmp_arg_str(args, "protocol", QMP_ARG_REQUIRED, &protocol, err) < 0 ||
        qmp_arg_str(args, "password", QMP_ARG_REQUIRED, &pw, err) < 0 ||
        qmp_arg_str(args, "connected", QMP_ARG_OPTIONAL, &connected, err) < 0)
        return NULL;
    /* enums in QEMU's schema: checked before anything else, in order */
    if (strcmp(protocol, "vnc") && strcmp(protocol, "spice"))
        return qmp_err_generic(err, "Parameter 'protocol' does not accept value '%s'", protocol);
    if (connected && strcmp(connected, "keep") && strcmp(connected, "fail") &&
        strcmp(connected, "disconnect"))
        return qmp_err_generic(err, "Parameter 'connected' does not accept value '%s'", connected);
    if (!strcmp(protocol, "spice"))
        return set_spice_password(pw, connected, err);
    return set_vnc_password(pw, err);
}

/* QEMU's names for PCI classes (class << 8 | subclass), reported as
 * class_info.desc: those of the functions xendm has or may get.  Classes
 * missing here get no "desc", as in QEMU (the Xen platform device's 0xff80). */
static const struct {
    uint16_t class;
    const char *desc;
} pci_class_names[] = {
    {0x0100, "SCSI controller"},
    {0x0101, "IDE controller"},
    {0x0106, "SATA controller"},
    {0x0180, "Storage controller"},
    {0x0200, "Ethernet controller"},
    {0x0280, "Network controller"},
    {0x0300, "VGA controller"},
    {0x0380, "Display controller"},
    {0x0401, "Audio controller"},
    {0x0403, "Audio controller"},
    {0x0600, "Host bridge"},
    {0x0601, "ISA bridge"},
    {0x0604, "PCI bridge"},
    {0x0680, "Bridge"},
    {0x0700, "Serial port"},
    {0x0c03, "USB controller"},
    {0x0c05, "SMBus"},
};

static const char *pci_class_name(uint16_t class)
{
    for (size_t i = 0; i < sizeof(pci_class_names) / sizeof(pci_class_names[0]); i++)
        if (pci_class_names[i].class == class)
            return pci_class_names[i].desc;
    return NULL;
}

static uint16_t cfg_word(const struct pci_dev *pd, unsigned off)
{
    return (uint16_t)(pd->config[off] | pd->config[off + 1] << 8);
}

/* One "regions" entry, as QEMU's query-pci: BARs 0-5 and the expansion ROM
 * (bar 6, a 32-bit memory region), with the address the BAR decodes now:
 * -1 while decoding is off, the ROM is disabled or the address is not
 * valid (QEMU's pci_bar_address). */
static void add_bar(JsonBuilder *b, struct pci_dev *pd, int i)
{
    const struct pci_bar_desc *bd = i == PCI_ROM_SLOT ? NULL : &pd->desc->bar[i];
    uint64_t size = i == PCI_ROM_SLOT ? pd->bar_region[PCI_ROM_SLOT].size : bd->size;
    if (!size || (bd && bd->type == PCI_BAR_NONE))
        return;
    bool io = bd && bd->type == PCI_BAR_IO;
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "bar");
    json_builder_add_int_value(b, i);
    json_builder_set_member_name(b, "type");
    json_builder_add_string_value(b, io ? "io" : "memory");
    json_builder_set_member_name(b, "address");
    json_builder_add_int_value(b, (gint64)pd->bar_addr[i]); /* unmapped: UINT64_MAX, i.e. -1 */
    json_builder_set_member_name(b, "size");
    json_builder_add_int_value(b, (gint64)size);
    if (!io) {
        json_builder_set_member_name(b, "prefetch");
        json_builder_add_boolean_value(b, bd && bd->prefetch);
        json_builder_set_member_name(b, "mem_type_64");
        json_builder_add_boolean_value(b, bd && bd->type == PCI_BAR_MEM64);
    }
    json_builder_end_object(b);
}

/* query-pci: bus 0, every function as the guest sees its configuration
 * space now (QEMU's qmp_query_pci_device). */
static JsonNode *cmd_query_pci(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_array(b);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "bus");
    json_builder_add_int_value(b, 0);
    json_builder_set_member_name(b, "devices");
    json_builder_begin_array(b);
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        struct pci_dev *pd = pci_find((uint8_t)devfn);
        if (!pd)
            continue;
        uint16_t class = cfg_word(pd, 0x0a);
        const char *class_desc = pci_class_name(class);
        uint8_t pin = pd->config[0x3d];
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "bus");
        json_builder_add_int_value(b, 0);
        json_builder_set_member_name(b, "slot");
        json_builder_add_int_value(b, devfn >> 3);
        json_builder_set_member_name(b, "function");
        json_builder_add_int_value(b, devfn & 7);
        json_builder_set_member_name(b, "class_info");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "class");
        json_builder_add_int_value(b, class);
        if (class_desc) {
            json_builder_set_member_name(b, "desc");
            json_builder_add_string_value(b, class_desc);
        }
        json_builder_end_object(b);
        json_builder_set_member_name(b, "id");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "vendor");
        json_builder_add_int_value(b, cfg_word(pd, 0x00));
        json_builder_set_member_name(b, "device");
        json_builder_add_int_value(b, cfg_word(pd, 0x02));
        if ((pd->config[0x0e] & 0x7f) == 0) { /* a normal header has a subsystem */
            json_builder_set_member_name(b, "subsystem-vendor");
            json_builder_add_int_value(b, cfg_word(pd, 0x2c));
            json_builder_set_member_name(b, "subsystem");
            json_builder_add_int_value(b, cfg_word(pd, 0x2e));
        }
        json_builder_end_object(b);
        if (pin) {
            json_builder_set_member_name(b, "irq");
            json_builder_add_int_value(b, pd->config[0x3c]);
        }
        json_builder_set_member_name(b, "irq_pin");
        json_builder_add_int_value(b, pin);
        json_builder_set_member_name(b, "qdev_id");
        json_builder_add_string_value(b, pd->dev && pd->dev->id ? pd->dev->id : "");
        json_builder_set_member_name(b, "regions");
        json_builder_begin_array(b);
        for (int i = 0; i <= PCI_ROM_SLOT; i++)
            add_bar(b, pd, i);
        json_builder_end_array(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    json_builder_end_array(b);
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
}

static JsonNode *cmd_dirty_log(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    bool enable;
    if (qmp_arg_bool(args, "enable", QMP_ARG_REQUIRED, &enable, err) < 0)
        return NULL;
    xen_set_dirty_logging(enable);
    return NULL;
}

static JsonNode *cmd_save_devices_state(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    const char *filename;
    bool live = false;
    if (qmp_arg_str(args, "filename", QMP_ARG_REQUIRED, &filename, err) < 0 ||
        qmp_arg_bool(args, "live", QMP_ARG_OPTIONAL, &live, err) < 0)
        return NULL;
    int fd = g_str_has_prefix(filename, "/dev/fdset/") ? qmp_fdset_lookup(filename)
                                                        : open(filename, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return qmp_err_generic(err, "Could not open '%s': %s", filename, strerror(errno));
    GString *blob = g_string_new("XENDM-STATE 1\n{\"devices\":[");
    bool first = true;
    for (struct device *d = device_first(); d; d = d->next) {
        g_string_append_printf(blob, "%s{\"driver\":\"%s\"", first ? "" : ",", d->desc->name);
        if (d->pci)
            g_string_append_printf(blob, ",\"devfn\":%u", d->pci->devfn);
        g_string_append(blob, "}");
        first = false;
    }
    g_string_append(blob, "]}\n");
    bool ok = lseek(fd, 0, SEEK_SET) == 0 && write(fd, blob->str, blob->len) == (ssize_t)blob->len &&
              ftruncate(fd, (off_t)blob->len) == 0; /* libxl opens without O_TRUNC */
    int e = errno;
    g_string_free(blob, TRUE);
    close(fd);
    if (!ok)
        return qmp_err_generic(err, "Could not write the device state: %s", strerror(e));
    return NULL;
}

static JsonNode *cmd_system_wakeup(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    if (machine_state() == MACHINE_SUSPENDED) {
        hv_set_acpi_s_state(0);
        machine_set_state(MACHINE_RUNNING);
    }
    return NULL;
}

static JsonNode *cmd_hmp(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    const char *line;
    if (qmp_arg_str(args, "command-line", QMP_ARG_REQUIRED, &line, err) < 0)
        return NULL;
    char *out;
    if (!strcmp(line, "info status"))
        out = g_strdup_printf("VM status: %s\r\n", machine_state_name(machine_state()));
    else if (!strcmp(line, "info version"))
        out = g_strdup_printf("%s (xendm %s)\r\n", CONFIG_QEMU_COMPAT_VERSION, PACKAGE_VERSION);
    else
        out = g_strdup_printf("unknown command: '%s'\r\n", line);
    JsonNode *n = json_node_new(JSON_NODE_VALUE);
    json_node_set_string(n, out); /* the reply is a JSON string, as libxl expects */
    g_free(out);
    return n;
}

static bool add_chardev(const char *label, const char *filename, bool frontend_open, void *opaque)
{
    JsonBuilder *b = opaque;
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "label");
    json_builder_add_string_value(b, label);
    json_builder_set_member_name(b, "filename");
    json_builder_add_string_value(b, filename);
    json_builder_set_member_name(b, "frontend-open");
    json_builder_add_boolean_value(b, frontend_open);
    json_builder_end_object(b);
    return true;
}

static JsonNode *cmd_query_chardev(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_array(b);
    chardev_foreach(add_chardev, b);
    json_builder_end_array(b);
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
}

/* A KeyValue of send-key: {"type": "qcode", "data": "a"} or
 * {"type": "number", "data": <set-1 scancode>}.  0 or -1 with err. */
static int key_value(JsonNode *kv, const char **qcode, int *number, GError **err)
{
    *qcode = NULL;
    *number = -1;
    if (!JSON_NODE_HOLDS_OBJECT(kv)) {
        qmp_err_generic(err, "Invalid parameter type for 'keys', expected: KeyValue");
        return -1;
    }
    JsonObject *o = json_node_get_object(kv);
    const char *type;
    if (qmp_arg_str(o, "type", QMP_ARG_REQUIRED, &type, err) < 0)
        return -1;
    if (!strcmp(type, "qcode"))
        return qmp_arg_str(o, "data", QMP_ARG_REQUIRED, qcode, err);
    if (!strcmp(type, "number")) {
        int64_t v;
        if (qmp_arg_int(o, "data", QMP_ARG_REQUIRED, &v, err) < 0)
            return -1;
        if (v < 0 || v > 0xffff) {
            qmp_err_generic(err, "Parameter 'data' is out of range");
            return -1;
        }
        *number = (int)v;
        return 0;
    }
    qmp_err_generic(err, "Parameter 'type' does not accept value '%s'", type);
    return -1;
}

static JsonNode *cmd_send_key(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    JsonArray *keys;
    int64_t hold = HOLD_TIME_DEFAULT_MS;
    if (qmp_arg_array(args, "keys", QMP_ARG_REQUIRED, &keys, err) < 0 ||
        qmp_arg_int(args, "hold-time", QMP_ARG_OPTIONAL, &hold, err) < 0)
        return NULL;
    guint n = json_array_get_length(keys);
    if (n == 0 || n > INPUT_MAX_CHORD)
        return qmp_err_generic(err, "Parameter 'keys' must hold 1 to %d keys", INPUT_MAX_CHORD);
    struct input_key chord[INPUT_MAX_CHORD];
    for (guint i = 0; i < n; i++) {
        const char *qcode;
        int number;
        if (key_value(json_array_get_element(keys, i), &qcode, &number, err) < 0)
            return NULL;
        if (qcode ? input_key_from_qcode(qcode, &chord[i]) < 0 : input_key_from_number(number, &chord[i]) < 0)
            return qmp_err_generic(err, "Parameter 'keys' has an unknown key '%s'", qcode ? qcode : "number");
    }
    if (hold < 0 || hold > 10000)
        return qmp_err_generic(err, "Parameter 'hold-time' is out of range");
    input_send_chord(chord, n, (unsigned)hold);
    return NULL;
}

static JsonNode *cmd_input_send_event(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    JsonArray *events;
    if (qmp_arg_array(args, "events", QMP_ARG_REQUIRED, &events, err) < 0)
        return NULL;
    for (guint i = 0; i < json_array_get_length(events); i++) {
        JsonNode *en = json_array_get_element(events, i);
        if (!JSON_NODE_HOLDS_OBJECT(en))
            return qmp_err_generic(err, "Invalid parameter type for 'events', expected: InputEvent");
        JsonObject *ev = json_node_get_object(en), *data;
        const char *type;
        if (qmp_arg_str(ev, "type", QMP_ARG_REQUIRED, &type, err) < 0 ||
            qmp_arg_object(ev, "data", QMP_ARG_REQUIRED, &data, err) < 0)
            return NULL;
        if (!strcmp(type, "key")) {
            bool down;
            JsonObject *key;
            const char *qcode;
            int number;
            struct input_key k;
            if (qmp_arg_bool(data, "down", QMP_ARG_REQUIRED, &down, err) < 0 ||
                qmp_arg_object(data, "key", QMP_ARG_REQUIRED, &key, err) < 0 ||
                key_value(json_object_get_member(data, "key"), &qcode, &number, err) < 0)
                return NULL;
            if (qcode ? input_key_from_qcode(qcode, &k) < 0 : input_key_from_number(number, &k) < 0)
                return qmp_err_generic(err, "Unknown key '%s'", qcode ? qcode : "number");
            input_key_event(&k, down);
        } else if (!strcmp(type, "btn")) {
            bool down;
            const char *button;
            if (qmp_arg_bool(data, "down", QMP_ARG_REQUIRED, &down, err) < 0 ||
                qmp_arg_str(data, "button", QMP_ARG_REQUIRED, &button, err) < 0)
                return NULL;
            if (input_button_event(button, down) < 0)
                return qmp_err_generic(err, "Unknown button '%s'", button);
        } else if (!strcmp(type, "rel") || !strcmp(type, "abs")) {
            const char *axis;
            int64_t value;
            if (qmp_arg_str(data, "axis", QMP_ARG_REQUIRED, &axis, err) < 0 ||
                qmp_arg_int(data, "value", QMP_ARG_REQUIRED, &value, err) < 0)
                return NULL;
            if (input_axis_event(!strcmp(type, "abs"), axis, value) < 0)
                return qmp_err_generic(err, "Unknown axis '%s'", axis);
        } else {
            return qmp_err_generic(err, "Input event type '%s' is not supported", type);
        }
    }
    input_sync();
    return NULL;
}

/* screendump {"filename": F}: the current screen as a binary PPM, as QEMU
 * writes it (tests compare it with qemu-xen's). */
static JsonNode *cmd_screendump(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    const char *filename, *format = NULL;
    if (qmp_arg_str(args, "filename", QMP_ARG_REQUIRED, &filename, err) < 0 ||
        qmp_arg_str(args, "format", QMP_ARG_OPTIONAL, &format, err) < 0)
        return NULL;
    if (format && strcmp(format, "ppm"))
        return qmp_err_generic(err, "Parameter 'format' does not accept value '%s'", format);
    fb_refresh_now();
    pixman_image_t *src = fb_image();
    if (!src)
        return qmp_err_generic(err, "There is no display to dump");
    int w = pixman_image_get_width(src), h = pixman_image_get_height(src);
    pixman_image_t *rgb = pixman_image_create_bits(PIXMAN_x8r8g8b8, w, h, NULL, 0);
    if (!rgb)
        return qmp_err_generic(err, "Out of memory");
    pixman_image_composite32(PIXMAN_OP_SRC, src, NULL, rgb, 0, 0, 0, 0, 0, 0, w, h);
    FILE *f = fopen(filename, "wbe");
    if (!f) {
        pixman_image_unref(rgb);
        return qmp_err_generic(err, "Could not open '%s': %s", filename, strerror(errno));
    }
    fprintf(f, "P6\n%d %d\n255\n", w, h);
    const uint32_t *px = pixman_image_get_data(rgb);
    int stride = pixman_image_get_stride(rgb) / 4;
    uint8_t *row = g_malloc((size_t)w * 3);
    bool ok = true;
    for (int y = 0; y < h && ok; y++) {
        for (int x = 0; x < w; x++) {
            uint32_t p = px[y * stride + x];
            row[x * 3] = (uint8_t)(p >> 16);
            row[x * 3 + 1] = (uint8_t)(p >> 8);
            row[x * 3 + 2] = (uint8_t)p;
        }
        ok = fwrite(row, 3, (size_t)w, f) == (size_t)w;
    }
    g_free(row);
    pixman_image_unref(rgb);
    if (fclose(f) != 0 || !ok)
        return qmp_err_generic(err, "Could not write '%s'", filename);
    return NULL;
}

static JsonNode *cmd_ioreq_stats(struct qmp_conn *c, JsonObject *args, void *opaque, GError **err)
{
    struct xen_stats st;
    xen_get_stats(&st);
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
#define STAT(name)                                                                                 \
    json_builder_set_member_name(b, #name);                                                        \
    json_builder_add_int_value(b, (gint64)st.name)
    STAT(sync);
    STAT(buffered);
    STAT(pio);
    STAT(mmio);
    STAT(pci_config);
    STAT(timeoffset);
    STAT(invalidate);
    STAT(bad);
#undef STAT
    json_builder_end_object(b);
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
}

void commands_register(unsigned vcpus)
{
    nr_vcpus = vcpus;
    qmp_register("query-status", cmd_query_status, NULL);
    qmp_register("cont", cmd_cont, NULL);
    qmp_register("stop", cmd_stop, NULL);
    qmp_register("query-cpus-fast", cmd_query_cpus_fast, NULL);
    qmp_register("query-vnc", cmd_query_vnc, NULL);
    qmp_register("change-vnc-password", cmd_change_vnc_password, NULL);
    qmp_register("set_password", cmd_set_password, NULL);
    qmp_register("expire_password", cmd_expire_password, NULL);
    qmp_register("query-spice", cmd_query_spice, NULL);
    qmp_register("x-xendm-query-spice-stats", cmd_spice_stats, NULL);
    qmp_register("query-pci", cmd_query_pci, NULL);
    qmp_register("query-chardev", cmd_query_chardev, NULL);
    qmp_register("xen-set-global-dirty-log", cmd_dirty_log, NULL);
    qmp_register("xen-save-devices-state", cmd_save_devices_state, NULL);
    qmp_register("system_wakeup", cmd_system_wakeup, NULL);
    qmp_register("human-monitor-command", cmd_hmp, NULL);
    qmp_register("send-key", cmd_send_key, NULL);
    qmp_register("input-send-event", cmd_input_send_event, NULL);
    qmp_register("x-xendm-query-ioreq-stats", cmd_ioreq_stats, NULL);
    qmp_register("screendump", cmd_screendump, NULL);
}
