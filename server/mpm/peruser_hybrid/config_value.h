/*
 * config_value.h -- parsing and bounds-checking of directive values.
 *
 * Pure helpers (no httpd headers) used by every numeric directive, so that
 * each error names the directive, the value given and the allowed range in
 * the same words.  Unit-tested in tests/unit/test_config_value.c.
 */
#ifndef PH_CONFIG_VALUE_H
#define PH_CONFIG_VALUE_H

#include <stddef.h>

/*
 * Parse a whole decimal integer (optional leading '+' or '-', no other
 * characters, no whitespace) into *out and check min <= value <= max.
 * Returns NULL on success.  On failure writes into err (always
 * NUL-terminated, truncated to errlen) a message of the form
 *   "ThreadsPerChild: 'abc' is not a whole number (allowed: 1 to 64)"
 *   "ThreadsPerChild: 500 is out of range (allowed: 1 to 64)"
 * (the value is quoted as written, also when it overflows a long) and
 * returns err.  *out is written only on success.  If err is NULL or errlen
 * is 0, a failure still returns a non-NULL (static) message.
 */
const char *ph_conf_parse_long(const char *directive, const char *arg,
                               long min, long max, long *out,
                               char *err, size_t errlen);

/*
 * The same for a decimal number with an optional fraction ("1.5", also
 * "2." and ".5"), used by AsyncRequestWorkerFactor.  Rejects "nan", "inf",
 * hex and exponents.  Messages print the range with %g:
 *   "AsyncRequestWorkerFactor: 'x' is not a decimal number (allowed: 1 to 10)"
 *   "AsyncRequestWorkerFactor: 20 is out of range (allowed: 1 to 10)"
 */
const char *ph_conf_parse_double(const char *directive, const char *arg,
                                 double min, double max, double *out,
                                 char *err, size_t errlen);

/*
 * Environment names (<Processor name>): 1 to 63 characters from
 * [A-Za-z0-9_.-], starting with a letter or digit.  Returns NULL if valid,
 * else writes a message naming the rule into err and returns err.
 */
const char *ph_conf_check_env_name(const char *name, char *err,
                                   size_t errlen);

#endif /* PH_CONFIG_VALUE_H */
