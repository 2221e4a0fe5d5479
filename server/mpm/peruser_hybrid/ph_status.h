/*
 * ph_status.h -- the peruser view in mod_status (status_hook.c).
 */
#ifndef PH_STATUS_H
#define PH_STATUS_H

/* Register with mod_status's optional status_hook (a no-op if mod_status
 * is not loaded). */
void ph_status_register_hooks(void);

#endif /* PH_STATUS_H */
