/*
 * ph_module.h -- the module record, shared by the files that read the
 * module's per-server configuration.
 */
#ifndef PH_MODULE_H
#define PH_MODULE_H

#include "httpd.h"
#include "http_config.h"

extern module AP_MODULE_DECLARE_DATA mpm_peruser_hybrid_module;

#define PH_MPM_NAME "peruser_hybrid"

#endif /* PH_MODULE_H */
