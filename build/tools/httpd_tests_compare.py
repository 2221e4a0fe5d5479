#!/usr/bin/python3
"""Compare a run of httpd's own test suite (Apache::Test's t/TEST output)
with stock mpm_event's failures; used by build/httpd-tests.sh.

  httpd_tests_compare.py baseline OUT
      print a baseline (one line per failing file) from a t/TEST output
  httpd_tests_compare.py compare --mode MODE --output OUT --baseline FILE
          [--known FILE --decisions doc/decisions.md] [--error-log LOG]
          [--exclude PREFIX]...
      exit 0 when the run fails nothing the baseline does not fail, has no
      crash line in LOG and finished; exit 1 (with a listing) otherwise;
      exit 2 on a malformed baseline or known-differences file.

Only the harness's "Test Summary Report" is read (the same with and
without -verbose).  Per failing file it gives the failed test numbers, a
non-zero exit/wait status and parse errors (e.g. "Bad plan": the file died
before running all its tests).  A run differs from the baseline when a file
fails a test number the baseline's entry for it does not list, exits
non-zero where the baseline's entry does not, or has parse errors where it
has none.  Failing less than the baseline is reported, but is not a failure.

Baseline line:  FILE failed:LIST [status:N] [parse]   (LIST like 1,4-7 or -)
Known difference:  MODE FILE TESTS | SECTION
  MODE ph, ph-env or *;  TESTS a LIST or * (the whole file, status and
  parse errors included);  SECTION the title of a "## " section of
  doc/decisions.md that explains why stock behaviour cannot be kept.
"""

import argparse
import re
import sys

HEADER = re.compile(r'^(t/\S+\.t)\s+\(Wstat: (\d+)(?: \([^)]*\))? '
                    r'Tests: (\d+) Failed: (\d+)\)$')
RAN = re.compile(r'^(t/\S+\.t) \.+')
# A crash in an error log line.  Not [alert]: httpd logs every broken
# .htaccess at alert, and the suite has many on purpose.
CRASH = re.compile(r'exit signal|[Ss]egmentation fault|AH0005[012]|'
                   r'core dumped|\[([a-z0-9_]+:)?emerg\]|Assertion .* failed|'
                   r'AddressSanitizer|ThreadSanitizer|runtime error:')
# Lines that quote what went over the wire or through a module (mod_dumpio
# logs bodies at trace7; the suite serves perldiag, which names every
# crash message): never a crash of their own.
QUOTING = re.compile(r'\] \[[a-z0-9_]+:(trace[1-8]|debug)\] ')
CONT = ' ' * 16


class Error(Exception):
    """A malformed input file (exit 2)."""


def parse_list(text):
    """'1, 4-7' or '1,4-7' -> {1, 4, 5, 6, 7}; '-' or '' -> set()."""
    nums = set()
    for part in text.replace(' ', '').split(','):
        if part in ('', '-'):
            continue
        m = re.fullmatch(r'(\d+)(?:-(\d+))?', part)
        if not m:
            raise Error('bad test list %r' % text)
        lo = int(m.group(1))
        hi = int(m.group(2) or lo)
        if hi < lo:
            raise Error('bad range %r' % part)
        nums.update(range(lo, hi + 1))
    return nums


def format_list(nums):
    """{1, 4, 5, 6} -> '1,4-6'; empty -> '-'."""
    out, run = [], None
    for n in sorted(nums):
        if run and n == run[1] + 1:
            run[1] = n
        else:
            run = [n, n]
            out.append(run)
    return ','.join(str(a) if a == b else '%d-%d' % (a, b)
                    for a, b in out) or '-'


class FileResult:
    """What the harness's summary says about one failing test file."""

    def __init__(self, failed=None, status=0, parse=None):
        self.failed = set(failed or ())
        self.status = status          # non-zero exit or wait status
        self.parse = list(parse or ())  # parse error messages

    def baseline_line(self, name):
        words = [name, 'failed:' + format_list(self.failed)]
        if self.status:
            words.append('status:%d' % self.status)
        if self.parse:
            words.append('parse')
        return ' '.join(words)


class Run:
    """A parsed t/TEST output."""

    def __init__(self):
        self.failures = {}   # file -> FileResult
        self.ran = set()     # files the harness started
        self.result = None   # 'PASS' / 'FAIL' / None: did not finish
        self.totals = ''     # the "Files=.., Tests=.." line
        self.interrupted = False


def parse_output(lines):
    run = Run()
    in_summary = False
    cur = section = None
    for raw in lines:
        line = raw.rstrip('\n')
        m = RAN.match(line)
        if m and not in_summary:
            run.ran.add(m.group(1))
        if line.startswith('Test Summary Report'):
            in_summary = True
            continue
        if line.startswith('Test run interrupted'):
            run.interrupted = True
        if line.startswith('Files='):
            run.totals = line
            in_summary = False
            cur = None
        if line.startswith('Result: '):
            run.result = line.split()[1]
        if not in_summary:
            continue
        m = HEADER.match(line)
        if m:
            cur = run.failures.setdefault(m.group(1), FileResult())
            wstat = int(m.group(2))
            if wstat:
                cur.status = wstat
            section = None
            continue
        if cur is None:
            continue
        m = re.match(r'^  Failed tests?:  (.*)$', line)
        if m:
            section = 'failed'
            cur.failed |= parse_list(m.group(1))
            continue
        m = re.match(r'^  Non-zero (?:exit|wait) status: (\d+)$', line)
        if m:
            section = None
            cur.status = cur.status or int(m.group(1))
            continue
        m = re.match(r'^  Parse errors: (.*)$', line)
        if m:
            section = 'parse'
            cur.parse.append(m.group(1))
            continue
        if line.startswith('  TODO passed:'):
            section = 'todo'
            continue
        if line.startswith(CONT) and section:
            if section == 'failed':
                cur.failed |= parse_list(line.strip())
            elif section == 'parse':
                cur.parse.append(line.strip())
            continue
        section = None
    return run


def read_baseline(lines):
    base = {}
    for no, raw in enumerate(lines, 1):
        line = raw.split('#', 1)[0].strip()
        if not line:
            continue
        words = line.split()
        res = FileResult()
        try:
            for w in words[1:]:
                if w.startswith('failed:'):
                    res.failed = parse_list(w[7:])
                elif w.startswith('status:'):
                    res.status = int(w[7:])
                elif w == 'parse':
                    res.parse = ['(in baseline)']
                else:
                    raise Error('unknown word %r' % w)
        except (Error, ValueError) as e:
            raise Error('baseline line %d: %s' % (no, e)) from None
        base[words[0]] = res
    return base


def decision_sections(lines):
    return {l[3:].strip() for l in lines if l.startswith('## ')}


def read_known(lines, sections):
    """-> list of (mode, file, set of tests or None for '*', section)."""
    known = []
    for no, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        head, sep, section = line.partition('|')
        words = head.split()
        section = section.strip()
        if not sep or len(words) != 3 or not section:
            raise Error('known-differences line %d: want '
                        '"MODE FILE TESTS | SECTION"' % no)
        mode, name, tests = words
        if mode not in ('ph', 'ph-env', '*'):
            raise Error('known-differences line %d: mode %r is not '
                        'ph, ph-env or *' % (no, mode))
        if section not in sections:
            raise Error('known-differences line %d: doc/decisions.md has '
                        'no section "## %s"' % (no, section))
        try:
            nums = None if tests == '*' else parse_list(tests)
        except Error as e:
            raise Error('known-differences line %d: %s' % (no, e)) from None
        known.append((mode, name, nums, section))
    return known


def compare(run, base, known, mode, excluded, crash_lines):
    """-> (problems, notes): lists of lines; problems make the run fail."""
    problems, notes = [], []

    def skip(name):
        return any(name.startswith(p) for p in excluded)

    if run.result is None:
        problems.append('the harness did not finish (no "Result:" line): '
                        'server did not start, or t/TEST was killed')
    if run.interrupted:
        problems.append('the harness says: Test run interrupted')
    for name in sorted(run.failures):
        if skip(name):
            continue
        got = run.failures[name]
        ref = base.get(name, FileResult())
        mine = [k for k in known if k[1] == name and k[0] in ('*', mode)]
        whole = [k for k in mine if k[2] is None]
        if whole:
            notes.append('%s: known difference, see "%s"' %
                         (name, whole[0][3]))
            continue
        allowed = set(ref.failed)
        for k in mine:
            allowed |= k[2]
        what = []
        new = got.failed - allowed
        if new:
            listed = format_list(new)
            if len(listed) > 100:   # unique_id.t fails ~200 scattered tests
                listed = '%s... (%d tests)' % (
                    listed[:listed.rindex(',', 0, 100) + 1], len(new))
            what.append('fails test%s %s' % ('s' if len(new) > 1 else '',
                                             listed))
        if got.status and not ref.status:
            what.append(describe_status(got.status))
        if got.parse and not ref.parse:
            what.append('parse errors: %s' % '; '.join(got.parse))
        if what:
            event = ('event fails ' + format_list(ref.failed)
                     if name in base else 'event passes it')
            problems.append('%s: %s (%s)' % (name, ', '.join(what), event))
    for name in sorted(base):
        if skip(name) or name not in run.ran:
            continue
        fixed = base[name].failed - run.failures.get(name, FileResult()).failed
        if fixed:
            notes.append('%s: passes test(s) %s that event fails' %
                         (name, format_list(fixed)))
    for mode_, name, nums, section in known:
        if mode_ in ('*', mode) and name in run.ran and \
                name not in run.failures:
            notes.append('%s: listed as a known difference ("%s") but '
                         'passes now' % (name, section))
    if crash_lines:
        problems.append('%d crash line(s) in the error log:' %
                        len(crash_lines))
        problems.extend('    ' + l for l in crash_lines[:40])
        if len(crash_lines) > 40:
            problems.append('    ... (%d more)' % (len(crash_lines) - 40))
    return problems, notes


def describe_status(wstat):
    if wstat & 0x7f:
        return 'killed by signal %d' % (wstat & 0x7f)
    return 'exits with status %d' % (wstat >> 8)


def crash_lines_of(path):
    if not path:
        return []
    try:
        with open(path, errors='replace') as f:
            return [l.rstrip('\n')[:400] for l in f
                    if CRASH.search(l) and not QUOTING.search(l)]
    except FileNotFoundError:
        return ['(no error log at %s)' % path]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    b = sub.add_parser('baseline')
    b.add_argument('output')
    c = sub.add_parser('compare')
    c.add_argument('--mode', required=True)
    c.add_argument('--output', required=True)
    c.add_argument('--baseline', required=True)
    c.add_argument('--known')
    c.add_argument('--decisions')
    c.add_argument('--error-log')
    c.add_argument('--exclude', action='append', default=[])
    a = ap.parse_args(argv)

    try:
        with open(a.output, errors='replace') as f:
            run = parse_output(f)
        if a.cmd == 'baseline':
            if run.result is None:
                raise Error('%s: the harness did not finish; no baseline '
                            'from it' % a.output)
            print('# stock mpm_event\'s failures in httpd\'s test suite, '
                  'written by build/httpd-tests.sh --refresh-baseline')
            print('# %s' % run.totals)
            for name in sorted(run.failures):
                print(run.failures[name].baseline_line(name))
            return 0
        with open(a.baseline) as f:
            base = read_baseline(f)
        known = []
        if a.known:
            with open(a.decisions) as f:
                sections = decision_sections(f)
            with open(a.known) as f:
                known = read_known(f, sections)
    except (Error, OSError) as e:
        print('httpd_tests_compare: %s' % e, file=sys.stderr)
        return 2

    crashes = crash_lines_of(a.error_log)
    with open(a.output, errors='replace') as f:   # t/core* found by t/TEST
        cores = sum('server dumped core' in l for l in f)
    if cores:   # t/TEST says it after every file while t/core exists
        crashes.append('t/TEST found a core file in t/ ("server dumped core" '
                       'x%d)' % cores)
    problems, notes = compare(run, base, known, a.mode, a.exclude, crashes)
    print('== %s: %s' % (a.mode, run.totals or 'no totals'))
    if a.exclude:
        print('   (not compared: %s)' % ' '.join(a.exclude))
    for n in notes:
        print('   note: ' + n)
    if problems:
        print('== %s DIFFERS from stock event:' % a.mode)
        for p in problems:
            print('   ' + p)
        return 1
    print('== %s: fails nothing stock event does not fail; no crash line'
          % a.mode)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
