"""The ``clinicnet`` command line.

Kept light at import: only argparse here; each command imports what it needs when
it runs, so ``clinicnet --help`` and ``--version`` start fast (the benchmark in
bench/ tracks it). Usage errors are one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from clinicnet import SCHEMA, __version__
from clinicnet.errors import UsageError

EXIT_USAGE = 2

EPILOG = """\
exit codes:
  0  ready                 the network can carry the IPsec+IKE VPN
  1  ready_with_warnings   it can, with warnings worth reading
  2  usage error           bad option, host, URL, config or result file
  3  not_ready             something measured will stop the VPN
  4  inconclusive          something essential could not be measured

Probes go only where you point them: --target, --reflector, --internet-check
and the names you give (defaults: the Windows/Android connectivity checks).
"""


def _version_text() -> str:
    import platform

    # A support call must tell the executable from a pip install: they bundle
    # different dependency versions.
    build = "; frozen executable" if getattr(sys, "frozen", False) else ""
    return (
        f"clinicnet {__version__} (report schema {SCHEMA}; Python {platform.python_version()}; "
        f"{platform.system()} {platform.release()} {platform.machine()}{build})"
    )


class _Parser(argparse.ArgumentParser):
    """argparse with the one-line error contract: no usage block, exit code 2 by ``main``."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see: {self.prog} --help)")


def _add_probe_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", action="append", default=[], metavar="HOST",
                   help="VPN gateway to probe with IKE (repeatable)")
    p.add_argument("--reflector", action="append", default=[], metavar="HOST",
                   help="clinicnet reflector for ESP/NAT/fragment tests (repeatable)")
    p.add_argument("--internet-check", action="append", default=[], metavar="URL",
                   help="http://, https:// or tcp://HOST:PORT to test general internet (repeatable; "
                        "default: the Windows and Android connectivity checks)")
    p.add_argument("--dns-name", action="append", default=[], metavar="NAME",
                   help="name to resolve (repeatable; default: the check and target names)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="deadline for every probe (default 5; probes run side by side)")
    p.add_argument("--config", metavar="FILE", help="TOML file with the same settings (or $CLINICNET_CONFIG)")


def _add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=("ja", "en"), default=None,
                   help="report language (default: the system's; Japanese on a Japanese system)")
    p.add_argument("--redact", action="store_true", default=None,
                   help="mask IP addresses, host names and MAC addresses in every output")
    p.add_argument("--json", metavar="PATH", help="write the JSON result (- for stdout)")
    p.add_argument("--html", metavar="PATH", help="write a single-file HTML report")
    p.add_argument("--markdown", metavar="PATH", help="write a Markdown report for a ticket")
    p.add_argument("--quiet", "-q", action="store_true", default=None,
                   help="no progress and no terminal report")


def _add_probe_settings(p: argparse.ArgumentParser) -> None:
    """The options probes declare in their SPEC (e.g. --ntp-server): one module adds its own flag."""
    from clinicnet.agent.config import probe_options

    for opt in probe_options().values():
        if opt.kind == "bool":
            p.add_argument(opt.flag, dest=f"probe_{opt.name}", action="store_true", default=None, help=opt.help.en)
        else:
            p.add_argument(opt.flag, dest=f"probe_{opt.name}", action="append", default=[], metavar=opt.metavar,
                           help=opt.help.en + " (repeatable)")


def probe_settings_of(args: argparse.Namespace) -> dict[str, Any]:
    """The probe-declared settings given on the command line, by name."""
    return {k[len("probe_"):]: v for k, v in vars(args).items() if k.startswith("probe_")}


#: commands whose parsers carry the probe-declared options (building them imports the probe SPECs)
_PROBE_SETTING_COMMANDS = ("diagnose", "watch")


def _wants_probe_settings(argv: Sequence[str]) -> bool:
    """Whether this command line runs probes: ``--help`` and ``--version`` stay light."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command is None:
        return not any(a in ("-h", "--help", "--version", "--licenses") for a in argv)  # bare run = diagnose
    return command in _PROBE_SETTING_COMMANDS


def build_parser(probe_settings: bool = False) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="clinicnet",
        description="Can this network carry the IPsec+IKE VPN for online billing and "
        "eligibility confirmation? / このネットワークでオンライン請求・資格確認のVPNが使えるかを診断します。",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print version, schema and platform")
    parser.add_argument("--licenses", action="store_true",
                        help="print clinicnet's licence (GPL-2.0-only) and the notices of bundled software")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser("diagnose", help="run all probes and write the report (default command)",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_probe_options(d)
    if probe_settings:
        _add_probe_settings(d)
    _add_output_options(d)
    d.add_argument("--output-dir", metavar="DIR",
                   help="where the HTML and JSON go when no --json/--html/--markdown is given (default: .)")
    d.add_argument("--bundle", metavar="PATH.zip",
                   help="write a support bundle for a ticket: HTML report, JSON result, Japanese summary, "
                        "probe log (and with --capture the probe traffic); --redact applies to all of it")
    d.add_argument("--long", nargs="?", type=float, const=180.0, default=None, metavar="SECONDS",
                   help="also measure how long the NAT keeps an idle UDP mapping (needs --reflector; takes "
                        "up to about 4 minutes; SECONDS caps the longest wait, default 180)")
    d.add_argument("--capture", action="store_true",
                   help="with --bundle: capture the probe traffic alone into the bundle (needs administrator "
                        "rights; tcpdump, dumpcap or scapy)")

    r = sub.add_parser("report", help="render a saved JSON result again, without probing")
    r.add_argument("result", metavar="RESULT.json", help="a file written by --json (- for stdin)")
    _add_output_options(r)

    i = sub.add_parser("ike", help="quick IKE check of one VPN gateway (UDP 500 and 4500)")
    i.add_argument("host", metavar="HOST")
    i.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS")
    i.add_argument("--json", action="store_true", help="print the probe result as JSON")
    i.add_argument("--lang", choices=("ja", "en"), default=None)
    i.add_argument("--ikev1-always", action="store_true",
                   help="send IKEv1 Main Mode too even when IKEv2 answers (default: only when it does not, "
                        "to leave fewer half-open SAs on the gateway)")

    f = sub.add_parser("findings", help="list every finding id the report can contain")
    f.add_argument("--json", action="store_true")
    f.add_argument("--lang", choices=("ja", "en"), default=None)

    e = sub.add_parser("explain", help="print the full explanation of one finding id")
    e.add_argument("finding_id", metavar="ID")
    e.add_argument("--lang", choices=("ja", "en"), default=None)

    w = sub.add_parser("watch", help="repeat the light probes on a schedule and report when things went down")
    _add_probe_options(w)
    if probe_settings:
        _add_probe_settings(w)
    _add_output_options(w)
    w.add_argument("--every", default="60", metavar="SECONDS", help="seconds between rounds (default 60)")
    w.add_argument("--for", dest="duration", default="8h", metavar="DURATION",
                   help="how long to watch: 90s, 30m, 8h (default 8h); Ctrl-C ends early and still reports")
    w.add_argument("--state", metavar="FILE", help="append-only record of the rounds; the same FILE again "
                   "resumes an interrupted watch (default: clinicnet-watch-<time>.jsonl in --output-dir)")
    w.add_argument("--output-dir", metavar="DIR", help="where the state and report files go (default: .)")

    rf = sub.add_parser("reflector", help="run the reflector server that the ESP/NAT/fragment probes talk to")
    from clinicnet.reflector import options as reflector_options  # argparse only: keeps start-up light

    reflector_options.add_arguments(rf)
    return parser


def lang_of(choice: str | None) -> str:
    """The report language: the one asked for, else the system's (Japanese on a Japanese Windows)."""
    if choice:
        return choice
    from clinicnet import system

    return system.ui_language()


def _fail(message: str) -> int:
    from clinicnet.agent import stdio

    stdio.error_line(f"clinicnet: error: {message}")
    return EXIT_USAGE


def cmd_diagnose(args: argparse.Namespace) -> int:
    from clinicnet.agent import config, output, progress
    from clinicnet.agent.diagnose import diagnose

    cli: dict[str, Any] = {
        "targets": args.target,
        "reflectors": args.reflector,
        "internet_checks": args.internet_check,
        "dns_names": args.dns_name,
        "timeout": args.timeout,
        "lang": args.lang,
        "redact": args.redact,
        "json": args.json,
        "html": args.html,
        "markdown": args.markdown,
        "output_dir": args.output_dir,
        "quiet": args.quiet,
        "probe_settings": probe_settings_of(args),
        "long": args.long,
    }
    settings = config.build(cli, args.config)
    lang = lang_of(settings.lang)
    outputs = _outputs(settings.json, settings.html, settings.markdown)
    if args.capture and not args.bundle:
        raise UsageError("--capture needs --bundle PATH.zip (the capture goes into the bundle)")
    announce = not outputs and not args.bundle
    if announce:
        outputs = output.default_paths(settings.output_dir)
    # What could not be written after a whole run is refused before it.
    for path in [*outputs.values(), *([args.bundle] if args.bundle else [])]:
        if path != "-":
            output.check_writable(path)
    _precheck_targets(settings.targets)
    view = progress.make(lang, bool(settings.quiet))
    if args.bundle:
        from clinicnet.bundle.bundle import BundleRun

        run = BundleRun(args.bundle, settings, capture=args.capture, observer=view)
        with view, run:
            report = diagnose(settings, observer=run.observer)
        run.write(report, lang, redact=bool(settings.redact))
        if run.capture_note:
            print(f"clinicnet: {run.capture_note}", file=sys.stderr)
        if not settings.quiet:
            print(("サポート用ファイルを保存しました: " if lang == "ja" else "support bundle written: ")
                  + args.bundle, file=sys.stderr)
    else:
        with view:
            report = diagnose(settings, observer=view)
    return _emit(report, outputs, lang, redact=bool(settings.redact), quiet=bool(settings.quiet),
                 announce=announce)


def _outputs(json_path: str | None, html: str | None, markdown: str | None) -> dict[str, str]:
    """The report files asked for, by format."""
    return {k: v for k, v in (("json", json_path), ("html", html), ("markdown", markdown)) if v}


def _precheck_targets(targets: Sequence[str], wait: float = 0.5) -> None:
    """A target name the resolver says does not exist is a typo: say so before probing.

    Only a definite "no such name" counts; a resolver that does not answer is a
    measurement (the DNS probe reports it), not a usage error. The syntax was
    checked with the other settings (``config.validate``). The lookups are the run's
    own (``_deadline.run_lookups``), all at once: the probes reuse their answers, and
    the time waited here comes out of the run's ``--timeout``.
    """
    import socket
    import time

    from clinicnet.netaddr import is_ip
    from clinicnet.probes import _deadline

    names = [t for t in dict.fromkeys(targets) if not is_ip(t)]
    if not names:
        return
    lookups = _deadline.run_lookups()
    lookups.start_all(names)
    until = time.monotonic() + wait
    noname = getattr(socket, "EAI_NONAME", None)
    for t in names:
        answers = [lookups.resolve(t, fam, until) for fam in (socket.AF_INET, socket.AF_INET6)]
        if all(isinstance(a.error, socket.gaierror) and a.error.errno == noname for a in answers):
            raise UsageError(f"unknown host {t!r} (the resolver has no such name)")


def _emit(report: Any, outputs: dict[str, str], lang: str, *, redact: bool, quiet: bool, announce: bool) -> int:
    from clinicnet.agent import output

    if redact:
        from clinicnet.reports.redact import redact as do_redact

        report = do_redact(report)
    to_stdout = any(p == "-" for p in outputs.values())
    # Files first: a stdout that fails (closed, full, a reader gone) must not cost
    # the report files of a run that already probed.
    for fmt, path in sorted(outputs.items(), key=lambda item: item[1] == "-"):
        output.write_text(path, output.render(report, fmt, lang))
    if announce and not quiet:
        from clinicnet.agent import stdio

        for path in outputs.values():
            stdio.error_line(("レポートを保存しました: " if lang == "ja" else "report written: ") + path)
    if not quiet and not to_stdout:
        print(output.render(report, "text", lang, color=sys.stdout.isatty()), end="")
    return int(report.verdict.exit_code)


#: a result is tens of KB; one with huge probe values a few MB
MAX_RESULT_BYTES = 64 << 20
#: deeper than any result clinicnet writes (about 8 levels); the JSON reader, the
#: redaction and the renderers all recurse, and a hostile file must not reach them
MAX_RESULT_DEPTH = 64


def _too_deep(text: str, limit: int = MAX_RESULT_DEPTH) -> bool:
    """True if ``text`` opens more than ``limit`` JSON arrays/objects at once (linear, no recursion)."""
    import re

    depth = 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]', text):
        c = m.group(0)
        if c in "[{":
            depth += 1
            if depth > limit:
                return True
        elif c in "]}":
            depth -= 1
    return False


def cmd_report(args: argparse.Namespace) -> int:
    from clinicnet.reports.report import Report, ReportFormatError

    try:
        if args.result == "-":
            if sys.stdin is None:
                raise UsageError("cannot read the result from standard input: it is closed")
            stdin = getattr(sys.stdin, "buffer", None)
            data = stdin.read(MAX_RESULT_BYTES + 1) if stdin is not None else sys.stdin.read().encode("utf-8")
        else:
            with open(args.result, "rb") as fh:
                data = fh.read(MAX_RESULT_BYTES + 1)  # /dev/zero is a file name too
        if len(data) > MAX_RESULT_BYTES:
            raise UsageError(f"{args.result} is larger than {MAX_RESULT_BYTES >> 20} MB: not a clinicnet result")
        text = data.decode("utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read {args.result}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{args.result} is not a UTF-8 text file") from None
    except ValueError as exc:  # an embedded NUL in the name
        raise UsageError(f"cannot read {args.result!r}: {exc}") from None
    if _too_deep(text):
        raise UsageError(f"{args.result}: nested more than {MAX_RESULT_DEPTH} levels deep: not a clinicnet result")
    try:
        report = Report.loads(text)
    except ReportFormatError as exc:
        raise UsageError(f"{args.result}: {exc}") from None
    except RecursionError:
        raise UsageError(f"{args.result}: nested too deeply: not a clinicnet result") from None
    lang = lang_of(args.lang)
    outputs = _outputs(args.json, args.html, args.markdown)
    return _emit(report, outputs, lang, redact=bool(args.redact), quiet=bool(args.quiet), announce=False)


def cmd_ike(args: argparse.Namespace) -> int:
    import json

    from clinicnet import system
    from clinicnet.agent import config
    from clinicnet.probes import ike
    from clinicnet.reports.render_ike import render

    config.validate(config.Settings(targets=(args.host,), timeout=args.timeout))
    _precheck_targets([args.host])
    result = ike.quick_check(args.host, timeout=args.timeout, privileged=system.is_admin(),
                             ikev1_always=args.ikev1_always)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        print(render(result, lang_of(args.lang)))
    return 0 if result.ok else 3


def cmd_reflector(args: argparse.Namespace) -> int:
    from clinicnet.reflector import server

    return server.run(args)


def cmd_watch(args: argparse.Namespace) -> int:
    from clinicnet.agent import watch

    return watch.run_cli(args)


def cmd_findings(args: argparse.Namespace) -> int:
    import json

    from clinicnet.reports.catalogue import CATALOGUE

    lang = lang_of(args.lang)
    if args.json:
        print(json.dumps([
            {"id": e.id, "severity": e.severity.value, "g_refs": list(e.g_refs),
             "title": {"ja": e.title.ja, "en": e.title.en}, "severity_note": e.severity_note, "path": e.path}
            for e in CATALOGUE.values()
        ], ensure_ascii=False, indent=2))
        return 0
    width = max(len(i) for i in CATALOGUE)
    path_width = max(len(e.path) for e in CATALOGUE.values())
    for e in CATALOGUE.values():
        g = ",".join(e.g_refs) or "-"
        # the path before the title: Japanese titles are double width and would break the columns
        print(f"{e.id:<{width}}  {e.severity.value:<7}  {g:<7}  {e.path:<{path_width}}  {e.title.get(lang)}")
    return 0


#: the one heading the reports do not have
_DEFINED_IN = {"ja": "定義ファイル", "en": "Defined in"}


def cmd_explain(args: argparse.Namespace) -> int:
    from clinicnet.reports import i18n
    from clinicnet.reports.catalogue import CATALOGUE

    e = CATALOGUE.get(args.finding_id)
    if e is None:
        raise UsageError(f"unknown finding id {args.finding_id!r} (see: clinicnet findings)")
    lang = i18n.norm_lang(lang_of(args.lang))
    print(f"{e.id} [{e.severity.value}] {e.title.get(lang)}")
    if e.severity_note:
        print(f"  ({e.severity_note})")
    # the reports' own headings, so the technician meets the same words in both
    for key, text in (("finding.summary", e.summary), ("finding.technical", e.technical),
                      ("finding.next_step", e.next_step)):
        print(f"\n{i18n.t(key, lang)}:\n{text.get(lang)}")
    if e.g_refs:
        print(f"\n{i18n.t('finding.g_refs', lang)}:")
        for g in e.g_refs:
            print(f"  {g} {i18n.g_ref_text(g, lang)}".rstrip())
    print(f"\n{_DEFINED_IN[lang]}: {e.path}")
    return 0


COMMANDS = {
    "diagnose": cmd_diagnose,
    "report": cmd_report,
    "ike": cmd_ike,
    "findings": cmd_findings,
    "explain": cmd_explain,
    "reflector": cmd_reflector,
    "watch": cmd_watch,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Every command's errors end here: one line on stderr and exit code 2, never a traceback."""
    from clinicnet.agent import stdio

    out = stdio.setup()
    bare = False
    try:
        parser = build_parser(_wants_probe_settings(list(sys.argv[1:] if argv is None else argv)))
        args = parser.parse_args(argv)
        bare = args.command is None
        code = _run(parser, args, argv)
        out.flush()  # a pipe or file fails here at the latest, while we can still say so
    except UsageError as exc:
        code = _fail(str(exc))
    except SystemExit as exc:  # --help
        code = exc.code if isinstance(exc.code, int) else EXIT_USAGE if exc.code else 0
        try:
            out.flush()
        except UsageError as flush_exc:
            code = _fail(str(flush_exc))
    except KeyboardInterrupt:
        stdio.error_line("clinicnet: interrupted")
        return 130
    if bare:
        _hold_window()
    return code


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    if args.version:
        print(_version_text())
        return 0
    if args.licenses:
        from clinicnet.agent.licenses import licenses_text

        sys.stdout.write(licenses_text())
        return 0
    if args.command is None:
        # Double-click / bare run: a full diagnosis with defaults.
        args = parser.parse_args(["diagnose", *(sys.argv[1:] if argv is None else argv)])
    return int(COMMANDS[args.command](args))


def _hold_window() -> None:
    """Keep a double-clicked console window open until the reader has seen the verdict."""
    from clinicnet import system

    if system.owns_console():
        try:
            input("\nEnter キーを押すと閉じます / Press Enter to close ")
        except (EOFError, KeyboardInterrupt):
            pass
