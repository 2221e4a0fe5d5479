/*
 * config_value.c -- parsing and bounds-checking of directive values.
 * See config_value.h for the contract and the message forms.
 *
 * strtol() and strtod() do the conversion, but both accept more than a
 * directive value should be (leading whitespace; for strtod also hex,
 * exponents, "inf" and "nan"), so the text is checked first and the
 * conversion is then required to consume all of it.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "config_value.h"

#define ENV_NAME_MAX 63
#define ENV_NAME_RULE \
    "allowed: 1 to 63 characters from A-Z a-z 0-9 _ . -, " \
    "starting with a letter or digit"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* ASCII only, unlike isalnum(), whose answer depends on the locale. */
static int is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * Format a failure message into err and return it.  A caller that gave no
 * room still gets a non-NULL result, because NULL means success.
 */
__attribute__((format(printf, 3, 4)))
static const char *fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0) {
        return "invalid value";
    }
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return err;
}

const char *ph_conf_parse_long(const char *directive, const char *arg,
                               long min, long max, long *out,
                               char *err, size_t errlen)
{
    char *end;
    long v;

    if (arg == NULL) {
        arg = "";
    }
    /* strtol() would skip leading whitespace; the first character must
     * already be part of the number.  An empty string fails here too. */
    if (!(is_digit(arg[0]) || arg[0] == '+' || arg[0] == '-')) {
        goto not_number;
    }
    errno = 0;
    v = strtol(arg, &end, 10);
    if (end == arg || *end != '\0') {
        goto not_number;
    }
    /* On overflow strtol() returns LONG_MAX or LONG_MIN, a value that may
     * well be inside [min, max]; only errno tells. */
    if (errno == ERANGE || v < min || v > max) {
        /* The value as written: it is all sign and digits by now, and an
         * overflowing one has no long to print. */
        return fail(err, errlen, "%s: %s is out of range (allowed: %ld to %ld)",
                    directive, arg, min, max);
    }
    *out = v;
    return NULL;

not_number:
    return fail(err, errlen,
                "%s: '%s' is not a whole number (allowed: %ld to %ld)",
                directive, arg, min, max);
}

/* [+-]? ( digits [ "." digits* ] | "." digits ): the plain decimal forms
 * strtod() accepts, without exponent, hex, infinity or NaN. */
static int is_plain_decimal(const char *s)
{
    int digits = 0;

    if (*s == '+' || *s == '-') {
        s++;
    }
    while (is_digit(*s)) {
        s++;
        digits++;
    }
    if (*s == '.') {
        s++;
        while (is_digit(*s)) {
            s++;
            digits++;
        }
    }
    return digits > 0 && *s == '\0';
}

const char *ph_conf_parse_double(const char *directive, const char *arg,
                                 double min, double max, double *out,
                                 char *err, size_t errlen)
{
    char *end;
    double v;

    if (arg == NULL) {
        arg = "";
    }
    if (!is_plain_decimal(arg)) {
        goto not_number;
    }
    errno = 0;
    v = strtod(arg, &end);
    /* Only fails if the locale's decimal point is not '.'; refusing is
     * better than silently reading "1.5" as 1. */
    if (end == arg || *end != '\0') {
        goto not_number;
    }
    /* ERANGE is also set on underflow, where v is the nearest
     * representable value and fine to range-check; only an overflow
     * (+-HUGE_VAL) is unusable. */
    if ((errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL))
        || !(v >= min && v <= max)) {
        return fail(err, errlen, "%s: %s is out of range (allowed: %g to %g)",
                    directive, arg, min, max);
    }
    *out = v;
    return NULL;

not_number:
    return fail(err, errlen,
                "%s: '%s' is not a decimal number (allowed: %g to %g)",
                directive, arg, min, max);
}

const char *ph_conf_check_env_name(const char *name, char *err,
                                   size_t errlen)
{
    size_t i;

    if (name == NULL || name[0] == '\0') {
        return fail(err, errlen, "Processor name must not be empty ("
                    ENV_NAME_RULE ")");
    }
    for (i = 0; name[i] != '\0'; i++) {
        if (i == ENV_NAME_MAX) {
            return fail(err, errlen,
                        "Processor name '%.*s...' is longer than %d "
                        "characters (" ENV_NAME_RULE ")",
                        ENV_NAME_MAX, name, ENV_NAME_MAX);
        }
    }
    if (!is_alnum(name[0])) {
        return fail(err, errlen,
                    "Processor name '%s' does not start with a letter or "
                    "digit (" ENV_NAME_RULE ")", name);
    }
    for (i = 1; name[i] != '\0'; i++) {
        if (!is_alnum(name[i]) && name[i] != '_' && name[i] != '.'
            && name[i] != '-') {
            return fail(err, errlen,
                        "Processor name '%s' has a character not allowed "
                        "at position %zu (" ENV_NAME_RULE ")", name, i + 1);
        }
    }
    return NULL;
}
