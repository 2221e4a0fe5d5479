/*
 * ph_escape.h -- strings read from the segment, made safe to print.
 *
 * Every string in the segment (an environment's name above all) can have
 * been written by a tenant's code: it may hold any byte, newlines and
 * terminal escapes included, and need not end in a NUL.  Whatever prints
 * one (mod_status's HTML and ?auto lines, pstat's text, curses and JSON)
 * passes it through the function for its output here.  No httpd headers:
 * pstat and the module share these.
 *
 * Each function reads at most in_max bytes of in (stopping at a NUL),
 * writes the escaped text into out (size bytes, always NUL-terminated when
 * size > 0) and returns its length.  A sequence that does not fit whole is
 * left out, with everything after it: the output is a cut of the full
 * escaped text, never a broken escape.  PH_ESCAPE_SIZE(n) is enough room
 * for n input bytes in any of them.
 *
 * Names that config_value.c accepts ([A-Za-z0-9_.-]) come out unchanged
 * from every function.
 */
#ifndef PH_ESCAPE_H
#define PH_ESCAPE_H

#include <stddef.h>

#define PH_ESCAPE_SIZE(n) (6 * (n) + 1)

/* A part of a mod_status ?auto key ("Peruser.<name>.Requests"):
 * [A-Za-z0-9_.-] kept, every other byte (':' ' ' '%' and controls
 * included) as %XX.  One line, no ": " inside, and distinct names give
 * distinct keys. */
size_t ph_escape_key(char *out, size_t size, const char *in, size_t in_max);

/* The inside of a JSON string: '"' and '\' backslashed, every byte
 * outside 0x20-0x7e as \u00XX, so the document is valid ASCII JSON. */
size_t ph_escape_json(char *out, size_t size, const char *in, size_t in_max);

/* For a terminal: printable ASCII kept, '\' doubled, every other byte
 * (C0, ESC, DEL, C1, anything >= 0x80) as \xHH.  Nothing reaches the
 * terminal that it would interpret. */
size_t ph_escape_term(char *out, size_t size, const char *in, size_t in_max);

/* For HTML text or a quoted attribute: & < > " ' as entities, other bytes
 * as ph_escape_term writes them. */
size_t ph_escape_html(char *out, size_t size, const char *in, size_t in_max);

#endif /* PH_ESCAPE_H */
