/*
 * ovs_args.c - command-line parsing with range checks.
 *
 * Every program rejects a bad command line with a usage line and exit code 2
 * before it touches the network: atoi("80x") is 80 and atoi("http") is 0, so
 * the seed's atoi() would quietly listen on a port nobody asked for.
 */
#include "ovs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ovs_parse_number(const char *text, unsigned long long min, unsigned long long max,
                     unsigned long long *value)
{
    char *end = NULL;
    unsigned long long number, scale = 1;

    /* strtoull accepts leading blanks and a minus sign; a port or a size
       never has either, so demand a digit first. */
    if (text == NULL || text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    number = strtoull(text, &end, 10);
    if (errno != 0)
        return -1;
    if (*end == 'K' || *end == 'k') {
        scale = 1024u;
        end++;
    } else if (*end == 'M' || *end == 'm') {
        scale = 1024u * 1024u;
        end++;
    }
    if (*end != '\0' || number > max / scale)
        return -1;
    number *= scale;
    if (number < min)
        return -1;
    *value = number;
    return 0;
}

int ovs_parse_port(const char *text, int allow_zero, unsigned short *port)
{
    unsigned long long number;
    if (ovs_parse_number(text, allow_zero ? 0u : 1u, 65535u, &number) != 0)
        return -1;
    /* A suffix makes no sense for a port: 1K is not a port anyone means. */
    if (strspn(text, "0123456789") != strlen(text))
        return -1;
    *port = (unsigned short)number;
    return 0;
}

static const struct ovs_option *find_option(const char *name, const struct ovs_option *options,
                                            size_t n_options)
{
    size_t i;
    for (i = 0; i < n_options; i++)
        if (strcmp(options[i].name, name) == 0)
            return &options[i];
    return NULL;
}

static int take_option(const struct ovs_option *option, const char *value, const char *usage)
{
    char problem[160];
    unsigned long long number;

    switch (option->kind) {
    case OVS_OPTION_FLAG:
        *(int *)option->target = 1;
        return 0;
    case OVS_OPTION_TEXT:
        *(const char **)option->target = value;
        return 0;
    case OVS_OPTION_NUMBER:
        if (ovs_parse_number(value, option->min, option->max, &number) != 0) {
            snprintf(problem, sizeof problem, "%s needs a number from %llu to %llu, not '%s'",
                     option->name, option->min, option->max, value);
            return ovs_usage_error(usage, problem);
        }
        *(unsigned long long *)option->target = number;
        return 0;
    }
    return ovs_usage_error(usage, "internal error: unknown option kind");
}

int ovs_parse_args(int argc, char **argv, const char *usage,
                   const struct ovs_option *options, size_t n_options,
                   const char **positional, size_t min_positional, size_t max_positional)
{
    char problem[160];
    size_t n_positional = 0;
    int i;

    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] == '-' && arg[1] == '-') {
            const struct ovs_option *option = find_option(arg, options, n_options);
            const char *value = NULL;
            int rc;
            if (option == NULL) {
                snprintf(problem, sizeof problem, "unknown option '%s'", arg);
                return ovs_usage_error(usage, problem);
            }
            if (option->kind != OVS_OPTION_FLAG) {
                if (i + 1 >= argc) {
                    snprintf(problem, sizeof problem, "%s needs a value", arg);
                    return ovs_usage_error(usage, problem);
                }
                value = argv[++i];
            }
            rc = take_option(option, value, usage);
            if (rc != 0)
                return rc;
        } else {
            if (n_positional == max_positional)
                return ovs_usage_error(usage, "too many arguments");
            positional[n_positional++] = arg;
        }
    }
    if (n_positional < min_positional)
        return ovs_usage_error(usage, "missing arguments");
    return 0;
}
