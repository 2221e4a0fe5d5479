"""The comparison behind build/httpd-tests.sh, on fabricated t/TEST outputs
(build/tools/httpd_tests_compare.py; run by build/test.sh, takes a second):
what counts as a failure stock event does not have, and what does not."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, 'build', 'tools', 'httpd_tests_compare.py')
sys.path.insert(0, os.path.dirname(TOOL))
import httpd_tests_compare as hc  # noqa: E402

EVENT_OUT = """\
t/apache/expr.t ........... 
Failed 4/229 subtests 
t/apache/pr64339.t ........ ok
t/modules/autoindex.t ..... 
Failed 84/84 subtests 
t/protocol/echo.t ......... ok
t/security/CVE-2005-2700.t  ok

Test Summary Report
-------------------
t/apache/expr.t         (Wstat: 0 Tests: 229 Failed: 4)
  Failed tests:  88, 202-204
t/modules/autoindex.t   (Wstat: 0 Tests: 84 Failed: 84)
  Failed tests:  1-84
Files=5, Tests=400, 90 wallclock secs ( 1.0 usr = 1.0 CPU)
Result: FAIL
"""

# 50 failed numbers: the harness wraps the list, continuing after 16 spaces
ODD = [str(n) for n in range(1, 100, 2)]
WRAPPED = ', '.join(ODD[:15]) + '\n' + ' ' * 16 + ', '.join(ODD[15:])


def ph_out(summary, ran=('t/apache/expr.t', 't/apache/pr64339.t',
                         't/modules/autoindex.t', 't/protocol/echo.t',
                         't/security/CVE-2005-2700.t'),
           result='Result: FAIL\n'):
    head = ''.join('%s ..... ok\n' % f for f in ran)
    return (head + '\nTest Summary Report\n-------------------\n' + summary +
            'Files=5, Tests=400, 90 wallclock secs\n' + result)


def compare(out, known=(), mode='ph', excluded=(), crashes=()):
    base = hc.read_baseline(
        hc.parse_output(EVENT_OUT.splitlines(True)).failures[n].baseline_line(n)
        for n in hc.parse_output(EVENT_OUT.splitlines(True)).failures)
    return hc.compare(hc.parse_output(out.splitlines(True)), base,
                      list(known), mode, list(excluded), list(crashes))


def test_baseline_round_trip_keeps_numbers_status_and_parse_errors():
    out = ph_out('t/x.t   (Wstat: 65280 (exited 255) Tests: 1 Failed: 1)\n'
                 '  Failed test:  1\n'
                 '  Non-zero exit status: 255\n'
                 '  Parse errors: Bad plan.  You planned 8 tests but ran 1.\n')
    line = hc.parse_output(out.splitlines(True)).failures['t/x.t'].baseline_line('t/x.t')
    assert line == 't/x.t failed:1 status:65280 parse'
    back = hc.read_baseline([line])['t/x.t']
    assert (back.failed, back.status, bool(back.parse)) == ({1}, 65280, True)


def test_same_failures_as_event_pass():
    out = ph_out('t/apache/expr.t   (Wstat: 0 Tests: 229 Failed: 4)\n'
                 '  Failed tests:  88, 202-204\n'
                 't/modules/autoindex.t   (Wstat: 0 Tests: 84 Failed: 84)\n'
                 '  Failed tests:  1-84\n')
    problems, notes = compare(out)
    assert problems == [] and notes == []


def test_new_test_number_in_a_file_event_fails_is_a_difference():
    out = ph_out('t/apache/expr.t   (Wstat: 0 Tests: 229 Failed: 5)\n'
                 '  Failed tests:  7, 88, 202-204\n')
    problems, _ = compare(out)
    assert problems == ['t/apache/expr.t: fails test 7 (event fails 88,202-204)']


def test_file_event_passes_with_exit_and_bad_plan_is_a_difference():
    out = ph_out('t/protocol/echo.t   (Wstat: 65280 (exited 255) Tests: 1 Failed: 1)\n'
                 '  Failed test:  1\n'
                 '  Non-zero exit status: 255\n'
                 '  Parse errors: Bad plan.  You planned 8 tests but ran 1.\n'
                 't/security/CVE-2005-2700.t (Wstat: 0 Tests: 2 Failed: 1)\n'
                 '  Failed test:  1\n')
    problems, _ = compare(out)
    assert problems == [
        't/protocol/echo.t: fails test 1, exits with status 255, parse errors: '
        'Bad plan.  You planned 8 tests but ran 1. (event passes it)',
        't/security/CVE-2005-2700.t: fails test 1 (event passes it)']


def test_killed_by_a_signal_with_no_failed_number_is_a_difference():
    out = ph_out('t/protocol/echo.t   (Wstat: 11 (Signal: SEGV) Tests: 3 Failed: 0)\n'
                 '  Non-zero wait status: 11\n')
    problems, _ = compare(out)
    assert problems == ['t/protocol/echo.t: killed by signal 11 (event passes it)']


def test_wrapped_failed_list_is_read_whole():
    out = ph_out('t/modules/autoindex.t   (Wstat: 0 Tests: 120 Failed: 50)\n'
                 '  Failed tests:  %s\n' % WRAPPED)
    run = hc.parse_output(out.splitlines(True))
    assert run.failures['t/modules/autoindex.t'].failed == set(range(1, 100, 2))
    problems, _ = compare(out)
    assert problems == ['t/modules/autoindex.t: fails tests 85,87,89,91,93,95,97,99 '
                        '(event fails 1-84)']


def test_passing_what_event_fails_is_a_note_not_a_failure():
    problems, notes = compare(ph_out('t/apache/expr.t (Wstat: 0 Tests: 229 Failed: 1)\n'
                                     '  Failed test:  88\n'))
    assert problems == []
    assert notes == ['t/apache/expr.t: passes test(s) 202-204 that event fails',
                     't/modules/autoindex.t: passes test(s) 1-84 that event fails']


def test_files_not_run_are_not_compared():
    problems, notes = compare(ph_out('', ran=('t/protocol/echo.t',)))
    assert problems == [] and notes == []


def test_excluded_prefix_is_not_compared():
    out = ph_out('t/ssl/env.t (Wstat: 0 Tests: 30 Failed: 23)\n'
                 '  Failed tests:  1-8, 16-30\n')
    assert compare(out, excluded=['t/ssl/'])[0] == []
    assert compare(out)[0] == ['t/ssl/env.t: fails tests 1-8,16-30 (event passes it)']


def test_crash_lines_fail_even_when_every_test_passes():
    problems, _ = compare(ph_out('', result='Result: PASS\n'),
                          crashes=['[core:notice] AH00052: child pid 7 exit signal '
                                   'Segmentation fault (11)'])
    assert problems[0] == '1 crash line(s) in the error log:'
    assert 'AH00052' in problems[1]


def test_crash_pattern(tmp_path):
    hits = ['[Sun] [core:notice] [pid 1] AH00052: child pid 9 exit signal Aborted (6)',
            '[Sun] [mpm_peruser_hybrid:emerg] [pid 1] PH00060: refused',
            '[Sun] [core:alert] [pid 1] AH00050: Child 5 returned a Fatal error',
            '[Sun] [core:notice] [pid 1] AH00051: child pid 9 exit signal Segmentation '
            'fault (11), possible coredump in /t',
            '==12==ERROR: AddressSanitizer: heap-use-after-free']
    misses = ['[Sun] [core:error] [pid 1] AH00126: Invalid URI in request',
              '[Sun] [mpm_peruser_hybrid:warn] [pid 1] PH00010: not started as root',
              # seen in stock event's run: broken .htaccess files on purpose,
              # and mod_dumpio quoting perldiag
              '[Sun] [core:alert] [pid 1] [client 127.0.0.1:1] /t/htdocs/x/.htaccess: '
              'Option Includes not allowed here',
              '[Sun] [dumpio:trace7] [pid 1:tid 2] mod_dumpio.c(100): [client 127.0.0.1:2] '
              'mod_dumpio:  dumpio_out (data-HEAP): =item Assertion %s failed: file '
              '"%s"\\n\\n(X) A general assertion failed.  Segmentation fault']
    path = tmp_path / 'error_log'
    path.write_text('\n'.join(hits + misses) + '\n')
    assert hc.crash_lines_of(str(path)) == hits


def test_harness_that_did_not_finish_fails():
    problems, _ = compare('t/apache/expr.t ..... ok\n'
                          '[  error] server localhost:8529 failed to start!\n')
    assert problems == ['the harness did not finish (no "Result:" line): '
                        'server did not start, or t/TEST was killed']


def test_known_difference_covers_numbers_or_whole_file_in_its_mode_only():
    sections = {'Why ph-env differs (issue 9)'}
    known = hc.read_known(['# comment', '',
                           'ph-env t/protocol/echo.t * | Why ph-env differs (issue 9)',
                           '* t/security/CVE-2005-2700.t 1 | Why ph-env differs (issue 9)'],
                          sections)
    out = ph_out('t/protocol/echo.t   (Wstat: 65280 (exited 255) Tests: 1 Failed: 1)\n'
                 '  Failed test:  1\n'
                 '  Non-zero exit status: 255\n'
                 't/security/CVE-2005-2700.t (Wstat: 0 Tests: 2 Failed: 2)\n'
                 '  Failed tests:  1-2\n')
    problems, notes = compare(out, known=known, mode='ph-env')
    assert problems == ['t/security/CVE-2005-2700.t: fails test 2 (event passes it)']
    assert notes[0] == ('t/protocol/echo.t: known difference, see '
                        '"Why ph-env differs (issue 9)"')
    problems, _ = compare(out, known=known, mode='ph')
    assert problems[0].startswith('t/protocol/echo.t: fails test 1')


@pytest.mark.parametrize('line', [
    'ph t/x.t 1 | No such section',        # section must exist
    'ph t/x.t 1',                           # section required
    'event t/x.t 1 | S',                    # mode
    'ph t/x.t 1-a | S',                     # test list
])
def test_malformed_known_difference_is_refused(line):
    with pytest.raises(hc.Error):
        hc.read_known([line], {'S'})


def test_checked_in_files_parse(tmp_path):
    """The real baseline and known-differences files are well formed, and
    the command line compares a run against them (exit 1 on a difference)."""
    known = os.path.join(ROOT, 'tests', 'httpd-tests', 'known-differences.txt')
    baseline = os.path.join(ROOT, 'tests', 'httpd-tests', 'event-baseline.txt')
    with open(os.path.join(ROOT, 'doc', 'decisions.md')) as f:
        sections = hc.decision_sections(f)
    with open(known) as f:
        hc.read_known(f, sections)
    with open(baseline) as f:
        assert hc.read_baseline(f)
    out = tmp_path / 'ph.out'
    out.write_text(ph_out('t/made/up.t (Wstat: 0 Tests: 2 Failed: 1)\n'
                          '  Failed test:  2\n'))
    log = tmp_path / 'error_log'
    log.write_text('[core:notice] AH00094: Command line: apache2\n')
    cmd = [sys.executable, TOOL, 'compare', '--mode', 'ph', '--output', str(out),
           '--baseline', baseline, '--known', known,
           '--decisions', os.path.join(ROOT, 'doc', 'decisions.md'),
           '--error-log', str(log)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 1, r.stdout + r.stderr
    assert 't/made/up.t: fails test 2 (event passes it)' in r.stdout
    r = subprocess.run(cmd + ['--exclude', 't/made/'], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_core_file_found_by_the_harness_is_a_crash(tmp_path):
    """t/TEST says "server dumped core" when it finds t/core: a crash even
    if the error log lost its AH00051 line."""
    baseline = tmp_path / 'baseline'
    baseline.write_text('')
    out = tmp_path / 'ph.out'
    out.write_text(ph_out('', result='Result: PASS\n') +
                   '[  error] oh nuts, server dumped core \n')
    log = tmp_path / 'error_log'
    log.write_text('')
    r = subprocess.run([sys.executable, TOOL, 'compare', '--mode', 'ph',
                        '--output', str(out), '--baseline', str(baseline),
                        '--error-log', str(log)], capture_output=True, text=True)
    assert r.returncode == 1, r.stdout + r.stderr
    assert 't/TEST found a core file in t/ ("server dumped core" x1)' in r.stdout


def test_long_list_of_new_failures_is_cut_with_a_count():
    nums = ', '.join(str(n) for n in range(1, 301, 3))
    problems, _ = compare(ph_out('t/modules/unique_id.t (Wstat: 0 Tests: 300 Failed: 100)\n'
                                 '  Failed tests:  %s\n' % nums))
    assert problems[0].startswith('t/modules/unique_id.t: fails tests 1,4,7,')
    assert problems[0].endswith(',... (100 tests) (event passes it)')
    assert len(problems[0]) < 200
