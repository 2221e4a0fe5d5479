/*
 * ph_log.h -- log message ids.
 *
 * Every log line of this MPM starts with a unique id "PHnnnnn: " (httpd's
 * APLOGNO habit) so an operator or a test can grep for one exact event.
 * Ids are never reused; the next free one is recorded in doc/log-ids.md.
 */
#ifndef PH_LOG_H
#define PH_LOG_H

#define PHLOGNO(n) "PH" #n ": "

#endif /* PH_LOG_H */
