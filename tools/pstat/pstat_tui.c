#include "pstat.h"
int pstat_tui_run(pstat_source *src, double interval_s) { (void)src; (void)interval_s; return 0; }
