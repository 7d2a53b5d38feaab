/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading a QMP command's "arguments" object for handlers (qmp.h's
 * qmp_arg_*): present or absent as the handler needs, the JSON type QEMU's
 * schema gives, and QEMU's wording for a missing or mistyped parameter, so
 * that libxl and scripts see the errors they know.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "src/qmp.h"

/* Look name up; 1 found, 0 optional and absent, -1 missing (err set). */
static int arg_lookup(JsonObject *args, const char *name, enum qmp_arg_need need, JsonNode **n,
                      GError **err)
{
    *n = args ? json_object_get_member(args, name) : NULL;
    if (*n)
        return 1;
    if (need == QMP_ARG_OPTIONAL)
        return 0;
    qmp_err_generic(err, "Parameter '%s' is missing", name);
    return -1;
}

static int arg_type_error(const char *name, const char *expected, GError **err)
{
    qmp_err_generic(err, "Invalid parameter type for '%s', expected: %s", name, expected);
    return -1;
}

bool qmp_node_is(JsonNode *n, GType t)
{
    return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == t;
}

int qmp_arg_int(JsonObject *args, const char *name, enum qmp_arg_need need, int64_t *out,
                GError **err)
{
    JsonNode *n;
    int r = arg_lookup(args, name, need, &n, err);
    if (r <= 0)
        return r;
    if (!qmp_node_is(n, G_TYPE_INT64))
        return arg_type_error(name, "integer", err);
    *out = json_node_get_int(n);
    return 1;
}

int qmp_arg_bool(JsonObject *args, const char *name, enum qmp_arg_need need, bool *out,
                 GError **err)
{
    JsonNode *n;
    int r = arg_lookup(args, name, need, &n, err);
    if (r <= 0)
        return r;
    if (!qmp_node_is(n, G_TYPE_BOOLEAN))
        return arg_type_error(name, "boolean", err);
    *out = json_node_get_boolean(n);
    return 1;
}

int qmp_arg_str(JsonObject *args, const char *name, enum qmp_arg_need need, const char **out,
                GError **err)
{
    JsonNode *n;
    int r = arg_lookup(args, name, need, &n, err);
    if (r <= 0)
        return r;
    if (!qmp_node_is(n, G_TYPE_STRING))
        return arg_type_error(name, "string", err);
    *out = json_node_get_string(n);
    return 1;
}

int qmp_arg_object(JsonObject *args, const char *name, enum qmp_arg_need need, JsonObject **out,
                   GError **err)
{
    JsonNode *n;
    int r = arg_lookup(args, name, need, &n, err);
    if (r <= 0)
        return r;
    if (!JSON_NODE_HOLDS_OBJECT(n))
        return arg_type_error(name, "object", err);
    *out = json_node_get_object(n);
    return 1;
}

int qmp_arg_array(JsonObject *args, const char *name, enum qmp_arg_need need, JsonArray **out,
                  GError **err)
{
    JsonNode *n;
    int r = arg_lookup(args, name, need, &n, err);
    if (r <= 0)
        return r;
    if (!JSON_NODE_HOLDS_ARRAY(n))
        return arg_type_error(name, "array", err);
    *out = json_node_get_array(n);
    return 1;
}

int qmp_arg_int_or_str(JsonObject *args, const char *name, enum qmp_arg_need need, int64_t *out,
                       GError **err)
{
    JsonNode *n;
    int r = arg_lookup(args, name, need, &n, err);
    if (r <= 0)
        return r;
    if (qmp_node_is(n, G_TYPE_INT64)) {
        *out = json_node_get_int(n);
        return 1;
    }
    if (!qmp_node_is(n, G_TYPE_STRING))
        return arg_type_error(name, "integer", err);

    const char *s = json_node_get_string(n);
    const char *digits = s;
    bool neg = false;
    guint base = 10;
    guint64 v;
    if (*digits == '-') {
        neg = true;
        digits++;
    }
    if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
        base = 16;
        digits += 2;
    }
    /* g_ascii_string_to_unsigned rejects empty strings, signs, spaces and
     * trailing junk; we insist on a leading digit ourselves too. */
    if (!g_ascii_isxdigit(digits[0]) ||
        !g_ascii_string_to_unsigned(digits, base, 0, neg ? (guint64)INT64_MAX + 1 : INT64_MAX, &v,
                                    NULL)) {
        qmp_err_generic(err, "Parameter '%s' expects an integer", name);
        return -1;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 1;
}

int qmp_arg_check_names(JsonObject *args, const char *const *allowed, GError **err)
{
    if (!args)
        return 0;
    GList *names = json_object_get_members(args);
    for (GList *l = names; l; l = l->next) {
        const char *const *a;
        for (a = allowed; *a; a++)
            if (!strcmp(*a, l->data))
                break;
        if (!*a) {
            qmp_err_generic(err, "Parameter '%s' is unexpected", (const char *)l->data);
            g_list_free(names);
            return -1;
        }
    }
    g_list_free(names);
    return 0;
}
