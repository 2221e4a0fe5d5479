/*
 * tls_hello_probe.c -- print what tls_hello.c makes of each file named on
 * the command line, one line each:
 *
 *     <file> <verdict> <alert> <sni or -> <alpn: h2,http/1.1 or ->
 *
 * Used by tests/fuzz/test_tls_hello_openssl.py to set the parser beside
 * OpenSSL's s_server on the same bytes, and by hand on a crash input or
 * a capture (tests/fuzz/capture_hello.py).  Bounds as the multiplexer
 * would use them: 64 KiB peeked, 16 KiB of scratch.
 */
#include <stdio.h>
#include <string.h>

#include "tls_hello.h"

static unsigned char buf[1 << 17];
static unsigned char scratch[16384];

int main(int argc, char **argv)
{
    int i, rc = 0;

    for (i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        ph_tls_space sp = { 65536, scratch, sizeof(scratch) };
        ph_tls_hello h;
        size_t n;

        if (f == NULL) {
            perror(argv[i]);
            rc = 1;
            continue;
        }
        n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        ph_tls_hello_parse(buf, n, &sp, &h);
        printf("%s %s %u %s %s%s%s\n", argv[i], ph_tls_verdict_name(h.verdict),
               h.alert, h.has_sni ? h.sni : "-",
               h.alpn_h2 ? "h2" : "", h.alpn_h2 && h.alpn_http11 ? "," : "",
               h.alpn_http11 ? "http/1.1"
                             : (h.alpn_h2 ? "" : "-"));
    }
    return rc;
}
