# tests/fuzz/fuzz.mk -- libFuzzer targets for the multiplexer's parsers of
# client bytes: the HTTP/1 head (head_parse.c) and the TLS ClientHello
# (tls_hello.c).
#
# Included by the top-level Makefile, which defines OUT, OBJ and MPM_DIR.
#
#   make fuzz            build $(OUT)/fuzz_head_parse, $(OUT)/fuzz_tls_hello
#   make fuzz-short      run each for FUZZ_SHORT seconds (20; build/test.sh)
#   make fuzz-long       run each for FUZZ_LONG seconds (600)
#
# Each run starts from the seed corpus in the tree
# (tests/fuzz/corpus/<name>/, read only) and keeps what it finds in
# build/fuzz/<name>/corpus/, which later runs start from too; a crash or a
# broken contract (the targets abort on one) leaves its input in
# build/fuzz/<name>/ as crash-* and fails the make.  Reproduce one with
# `$(OUT)/fuzz_<name> build/fuzz/<name>/crash-...`; if the bug is real,
# add the input to the seed corpus and a unit test that reproduces it.
#
# clang (Debian's clang-14 has libFuzzer); the parsers are compiled with
# the fuzzing instrumentation and ASan + UBSan, any UBSan report fatal.

FUZZ_CC      ?= clang
FUZZ_DIR     := tests/fuzz
FUZZ_FLAGS   := -g -O1 -fno-omit-frame-pointer -U_FORTIFY_SOURCE \
                -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all
FUZZ_CFLAGS  := -std=gnu11 $(WARN) $(FUZZ_FLAGS) -I$(MPM_DIR)
FUZZ_NAMES   := head_parse tls_hello
FUZZ_BINS    := $(addprefix $(OUT)/fuzz_,$(FUZZ_NAMES))
FUZZ_SHORT   ?= 20
FUZZ_LONG    ?= 600
# -timeout: one input taking a second is a hang for parsers this size.
# -max_len: room for a hello of several full records.
FUZZ_RUNFLAGS := -timeout=2 -rss_limit_mb=2048 -max_len=40000 \
                 -print_final_stats=1

.PHONY: fuzz fuzz-short fuzz-long
fuzz: $(FUZZ_BINS)

$(OUT)/fuzz_%: $(FUZZ_DIR)/fuzz_%.c $(MPM_DIR)/%.c $(MPM_DIR)/%.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_DIR)/fuzz_$*.c $(MPM_DIR)/$*.c

# $(1): seconds per target.
define FUZZ_RUN
	@set -e; for n in $(FUZZ_NAMES); do \
	    mkdir -p build/fuzz/$$n/corpus; \
	    echo "== fuzz_$$n for $(1) s"; \
	    dict=; [ -f $(FUZZ_DIR)/$$n.dict ] && dict=-dict=$(FUZZ_DIR)/$$n.dict; \
	    ./$(OUT)/fuzz_$$n $(FUZZ_RUNFLAGS) -max_total_time=$(1) $$dict \
	        -artifact_prefix=build/fuzz/$$n/ \
	        build/fuzz/$$n/corpus $(FUZZ_DIR)/corpus/$$n \
	        2>build/fuzz/$$n/log || { tail -60 build/fuzz/$$n/log; exit 1; }; \
	    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::new_units_added)' \
	        build/fuzz/$$n/log || true; \
	done
endef

fuzz-short: $(FUZZ_BINS)
	$(call FUZZ_RUN,$(FUZZ_SHORT))

fuzz-long: $(FUZZ_BINS)
	$(call FUZZ_RUN,$(FUZZ_LONG))

# tls_hello.c beside OpenSSL's s_server on the same hellos (crafted from a
# curl capture): a refusal must be OpenSSL's, with its alert.
TLS_PROBE := $(OUT)/tls_hello_probe
.PHONY: tls-hello-probe tls-hello-vs-openssl
tls-hello-probe: $(TLS_PROBE)

$(TLS_PROBE): $(FUZZ_DIR)/tls_hello_probe.c $(MPM_DIR)/tls_hello.c \
              $(MPM_DIR)/tls_hello.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -I$(MPM_DIR) -o $@ $(FUZZ_DIR)/tls_hello_probe.c \
	    $(MPM_DIR)/tls_hello.c

tls-hello-vs-openssl: $(TLS_PROBE)
	/usr/bin/python3 -m pytest -p no:cacheprovider -q \
	    $(FUZZ_DIR)/test_tls_hello_openssl.py
