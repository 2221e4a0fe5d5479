# peruser_hybrid -- top-level build.
#
# The module is compiled against the installed apache2-dev: every compiler
# and include flag comes from `apxs -q`, so it builds exactly as apxs would
# build it, but objects go to build/obj/ instead of next to the sources.
#
#   make            build/out/mod_mpm_peruser_hybrid.so and build/out/pstat
#   make unit       CUnit unit tests (tests/unit/)
#   make check      unit + integration tests (needs root, see README)
#   make bench      build/bench.sh: peruser_hybrid vs stock mpm_event
#   make bench-h2c  build/bench-h2c.sh: the same over h2c, with h2load
#   make bench-tls  build/bench-tls.sh: the same over TLS (h2 and http/1.1), with h2load
#   make bench-alloc build/bench-alloc.sh: glibc malloc vs jemalloc (RSS, PSS, req/s)
#   make coldstart  build/coldstart.sh: spawn-on-demand latency
#   make slots      build/slots.sh: 1,000 tenants on ServerLimit, beside event
#   make scale      build/scale.sh: N idle tenants beside event and mpm-itk (memory, CPU, fds, cold start)
#   make cold       build/cold.sh: start time and cold first answers at N tenants, beside event
#   make bench-tenants build/bench-tenants.sh: a wrk load over 100 tenants beside event and mpm-itk
#   make flatness      the parent's memory at 1,000 environments: an hour's passes, 1,000 graceful restarts
#   make shm-bench  ticket handoff vs a mutex queue (tests/shm)
#   make intree     build/intree-build.sh: httpd built --with-mpm=peruser_hybrid
#   make fuzz-short libFuzzer on head_parse.c and tls_hello.c, 20 s each
#   make fuzz-long  the same, 10 min each (tests/fuzz/fuzz.mk)
#   make tls-hello-vs-openssl  tls_hello.c beside openssl s_server
#   make asan       build/out-asan/mod_mpm_peruser_hybrid.so under ASan + UBSan
#   make tsan       build/out-tsan/mod_mpm_peruser_hybrid.so under TSan
#                   (the integration tests run them with PH_SANITIZER=asan|tsan)
#   make install    the module into apxs LIBEXECDIR (/usr/lib/apache2/modules),
#                   Debian's mods-available .load and .conf, pstat and
#                   pstat.1, the default environment's account (DESTDIR=...
#                   honoured; see build/install.sh)
#   make uninstall  removes what make install installed
#   make httpd-tests-ph | httpd-tests-ph-env | httpd-tests-event
#                   build/httpd-tests.sh: httpd's own test suite, compared
#                   with stock event's failures (~10 min each, as root;
#                   HTTPD_TESTS_ARGS="--exclude t/ssl/" etc. are passed on)
#   make clean

APXS    ?= apxs
CC      := $(shell $(APXS) -q CC)
OUT     := build/out
OBJ     := build/obj

WARN    := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes \
           -Wstrict-prototypes -Wpointer-arith
HTTPD_CPPFLAGS := $(shell $(APXS) -q EXTRA_INCLUDES) \
                  $(shell $(APXS) -q EXTRA_CPPFLAGS)
BASE_CFLAGS := -std=gnu11 -pipe -g -O2 -fPIC -fstack-protector-strong \
               -fno-strict-aliasing $(WARN) -D_FORTIFY_SOURCE=2
CFLAGS  ?=
ALL_CFLAGS = $(BASE_CFLAGS) $(CFLAGS)

MPM_DIR := server/mpm/peruser_hybrid
MPM_SRC := $(wildcard $(MPM_DIR)/*.c)
SHM_SRC := $(wildcard shm/*.c)
MPM_OBJ := $(patsubst %.c,$(OBJ)/%.o,$(MPM_SRC) $(SHM_SRC))
MODULE  := $(OUT)/mod_mpm_peruser_hybrid.so

.PHONY: all unit check integration bench bench-h2c bench-tls bench-alloc bench-tenants flatness coldstart cold slots scale intree install uninstall install-account clean asan tsan \
        httpd-tests-ph httpd-tests-ph-env httpd-tests-event
all: $(MODULE) $(OUT)/pstat

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HTTPD_CPPFLAGS) -I$(MPM_DIR) -Ishm -MMD -MP -c $< -o $@

$(MODULE): $(MPM_OBJ)
	@mkdir -p $(OUT)
	$(CC) -shared -o $@ $(MPM_OBJ) -lpthread

-include $(MPM_OBJ:.o=.d)

# The module (only it: apache2 is Debian's, uninstrumented) under a
# sanitizer: `make asan` (AddressSanitizer + UBSan) or `make tsan`
# (ThreadSanitizer), into build/out-<name>/.  Built with the module's
# compiler, whose runtime (libasan.so, libtsan.so) apache2 must load first:
# phtest.py starts apache2 with it in LD_PRELOAD when PH_SANITIZER=<name>.
# No _FORTIFY_SOURCE: its checked libc wrappers bypass the interceptors.
SAN_COMMON := -O1 -g -fno-omit-frame-pointer -U_FORTIFY_SOURCE
SAN_FLAGS_asan := $(SAN_COMMON) -fsanitize=address,undefined
SAN_FLAGS_tsan := $(SAN_COMMON) -fsanitize=thread

define SAN_MODULE
$(1): build/out-$(1)/mod_mpm_peruser_hybrid.so

build/obj-$(1)/%.o: %.c
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_CFLAGS) $$(SAN_FLAGS_$(1)) $$(HTTPD_CPPFLAGS) \
	    -I$$(MPM_DIR) -Ishm -MMD -MP -c $$< -o $$@

build/out-$(1)/mod_mpm_peruser_hybrid.so: \
        $$(patsubst %.c,build/obj-$(1)/%.o,$$(MPM_SRC) $$(SHM_SRC))
	@mkdir -p $$(dir $$@)
	$$(CC) -shared $$(SAN_FLAGS_$(1)) -o $$@ $$^ -lpthread

-include $$(patsubst %.c,build/obj-$(1)/%.d,$$(MPM_SRC) $$(SHM_SRC))
endef
$(eval $(call SAN_MODULE,asan))
$(eval $(call SAN_MODULE,tsan))
-include tests/unit/unit.mk
-include tests/shm/shm.mk
-include tests/tools/tools.mk
-include tools/pstat/pstat.mk
-include tests/hostile/hostile.mk
-include tests/fuzz/fuzz.mk

integration: $(MODULE)
	/usr/bin/python3 -m pytest -v tests/integration

check: unit integration

bench: $(MODULE)
	bash build/bench.sh

bench-alloc: $(MODULE)
	bash build/bench-alloc.sh

bench-h2c: $(MODULE)
	bash build/bench-h2c.sh

bench-tls: $(MODULE)
	bash build/bench-tls.sh

# First-request latency of 100 MinProcessors 0 environments (spawn on
# demand), median and worst, beside warm requests.
coldstart: $(MODULE)
	bash build/coldstart.sh

slots: $(MODULE)
	bash build/slots.sh

scale: $(MODULE)
	bash build/scale.sh

cold: $(MODULE)
	bash build/cold.sh

bench-tenants: $(MODULE)
	bash build/bench-tenants.sh

# The parent's memory at 1,000 environments over an hour's maintenance
# passes (3,600, run every 10 ms) and over 1,000 graceful restarts: the
# long form of test_idle_cost.py's two flatness tests (.ci/run runs the
# short one).  About 20 minutes.
flatness: $(MODULE)
	PH_MEMORY_ENVS=1000 PH_MEMORY_TICKS_SECONDS=36 PH_MEMORY_RESTARTS=1000 \
	    /usr/bin/python3 -m pytest -p no:cacheprovider -v -s \
	    tests/integration/test_idle_cost.py -k flat

# httpd's own test suite (shared/httpd-tests, beside the repository) in
# one mode, compared with stock event's failures: see build/httpd-tests.sh.
HTTPD_TESTS_ARGS ?=
httpd-tests-ph httpd-tests-ph-env: httpd-tests-%: $(MODULE)
	bash build/httpd-tests.sh $(HTTPD_TESTS_ARGS) $*

httpd-tests-event:
	bash build/httpd-tests.sh $(HTTPD_TESTS_ARGS) event

# Installs, each under $(DESTDIR): the module where Debian keeps httpd's
# modules (apxs's LIBEXECDIR); mods-available/mpm_peruser_hybrid.load and
# .conf (build/debian-files.sh) in $(CONFDIR); pstat in $(BINDIR) and its
# man page; and, on a real install (no DESTDIR), the system account
# $(PH_DEFAULT_USER) of the .conf's default environment (PH_CREATE_USER=no:
# not).  `make uninstall` removes the same (build/install.sh).
LIBEXECDIR := $(shell $(APXS) -q LIBEXECDIR)
CONFDIR    ?= $(or $(APACHE_CONFDIR),/etc/apache2)
BINDIR     ?= /usr/bin
MANDIR     ?= /usr/share/man
PH_DEFAULT_USER ?= phdefault
PH_CREATE_USER  ?= yes
INSTALL_VARS = DESTDIR='$(DESTDIR)' LIBEXECDIR='$(LIBEXECDIR)' \
    CONFDIR='$(CONFDIR)' BINDIR='$(BINDIR)' MANDIR='$(MANDIR)' \
    PH_DEFAULT_USER='$(PH_DEFAULT_USER)' PH_CREATE_USER='$(PH_CREATE_USER)'
install: $(MODULE) $(OUT)/pstat
	$(INSTALL_VARS) bash build/install.sh install

uninstall:
	$(INSTALL_VARS) bash build/install.sh uninstall

# Only the default environment's account (what a package's postinst does).
install-account:
	$(INSTALL_VARS) bash build/install.sh account

# Proves the in-tree build: copies the MPM into an httpd 2.4 source tree
# (Debian's source package unless HTTPD_SRC names one), ./buildconf,
# ./configure --with-mpm=peruser_hybrid, builds, installs under build/work
# and serves a request.
HTTPD_SRC ?=
intree:
	bash build/intree-build.sh $(HTTPD_SRC)

clean:
	rm -rf build/out build/obj build/out-asan build/obj-asan build/out-tsan \
	    build/obj-tsan
