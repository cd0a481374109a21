"""A real strongSwan responder (charon + swanctl) inside a lab namespace.

The IKE probe is only as good as its agreement with a real gateway, so lab tests
run it against ``/usr/lib/ipsec/charon`` rather than a Python imitation. Each
charon gets its own strongswan.conf (via ``STRONGSWAN_CONF``), its own vici
socket, log file and ``/run`` (charon hard-codes ``/var/run/charon.pid``, so
every instance runs in a private mount namespace with a per-test directory
bind-mounted over ``/run``); several labs can therefore run side by side.

Usage::

    with Lab(LabOptions(nat_layers=1)) as lab:
        charon = start_charon(lab, lab.tmpdir)        # binds 192.0.2.10 in "dc"
        ...
        assert "IKE_SA_INIT" in charon.log_text()

``start_charon`` also accepts a namespace name instead of a lab. The instance is
stopped by :meth:`Charon.stop`, by the lab's cleanup when the lab offers one,
and at interpreter exit at the latest.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHARON = "/usr/lib/ipsec/charon"
SWANCTL = "swanctl"
#: lab-only secret: never used outside a lab namespace
LAB_PSK = "clinicnet-lab-only-psk"

#: IKEv2: what the probe offers plus strongSwan's defaults, so a correct probe is answered
IKEV2_PROPOSALS = (
    "aes128-aes256-sha256-sha384-ecp256-modp2048-curve25519,"
    "aes128gcm16-aes256gcm16-prfsha256-prfsha384-ecp256-modp2048-curve25519,default"
)
IKEV1_PROPOSALS = (
    "aes256-sha256-modp2048,aes128-sha256-modp2048,aes128-sha1-modp2048,aes128-sha1-modp1024,3des-sha1-modp1024"
)

_PLUGINS = (
    "random nonce openssl pem pkcs1 pkcs8 x509 pubkey revocation constraints "
    "sha1 sha2 hmac aes gcm kdf curve25519 gmp kernel-netlink socket-default vici"
)

_running: list[Charon] = []


@dataclass
class Charon:
    """A running charon; ``log_text()`` reads its filelog (``ike 2``, ``net 2``)."""

    netns: str
    workdir: Path
    process: subprocess.Popen[bytes]
    address: str
    log_path: Path
    vici_uri: str
    _stopped: bool = field(default=False, repr=False)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, needle: str, timeout: float = 3.0) -> bool:
        """Log lines are flushed per line, but the writer is another process: poll briefly."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if needle in self.log_text():
                return True
            time.sleep(0.02)
        return needle in self.log_text()

    def swanctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, STRONGSWAN_CONF=str(self.workdir / "strongswan.conf"))
        return subprocess.run(
            [SWANCTL, *args, "--uri", self.vici_uri],
            env=env,
            capture_output=True,
            text=True,
            timeout=10,
            check=check,
        )

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=3)
        if self in _running:
            _running.remove(self)

    def __enter__(self) -> Charon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def strongswan_conf(
    workdir: Path,
    *,
    cookie_threshold: int,
    cookie_threshold_ip: int,
    block_threshold: int = 1_000_000,
    send_vendor_id: bool,
    libipsec: bool,
) -> str:
    plugins = _PLUGINS + (" kernel-libipsec" if libipsec else "")
    return f"""\
charon {{
    load_modular = no
    load = {plugins}
    port = 500
    port_nat_t = 4500
    # a probe run sends several IKE_SA_INITs from one address, and strongSwan's
    # defaults answer the 4th half-open SA per IP with COOKIE and drop the 6th
    # (cookie_threshold_ip 3, block_threshold 5): off unless a test asks for it
    cookie_threshold = {cookie_threshold}
    cookie_threshold_ip = {cookie_threshold_ip}
    block_threshold = {block_threshold}
    init_limit_half_open = 0
    half_open_timeout = 10
    install_routes = no
    install_virtual_ip = no
    send_vendor_id = {"yes" if send_vendor_id else "no"}
    plugins {{
        vici {{
            socket = unix://{workdir}/charon.vici
        }}
    }}
    filelog {{
        lab {{
            path = {workdir}/charon.log
            time_format = %H:%M:%S
            default = 1
            ike = 2
            net = 2
            cfg = 2
            enc = 1
            flush_line = yes
        }}
    }}
    syslog {{
        daemon {{
            default = -1
        }}
    }}
}}
"""


def swanctl_conf(
    address: str, *, ikev2_proposals: str, ikev1_proposals: str, versions: tuple[int, ...] = (1, 2)
) -> str:
    """PSK connections for the IKE ``versions`` (both by default); ``address`` may list several,
    comma-separated.  Without an IKEv2 connection charon answers IKE_SA_INIT with
    NO_PROPOSAL_CHOSEN (it finds no IKE config for the addresses)."""
    ikev2 = _IKEV2_CONN.format(address=address, proposals=ikev2_proposals) if 2 in versions else ""
    ikev1 = _IKEV1_CONN.format(address=address, proposals=ikev1_proposals) if 1 in versions else ""
    return f"""\
connections {{
{ikev2}{ikev1}}}
secrets {{
    ike-lab {{
        secret = "{LAB_PSK}"
    }}
}}
"""


_IKEV2_CONN = """\
    lab-ikev2 {{
        version = 2
        local_addrs = {address}
        proposals = {proposals}
        local {{
            auth = psk
            id = gateway.lab.test
        }}
        remote {{
            auth = psk
        }}
        children {{
            lab {{
                local_ts = 10.0.0.0/8
                esp_proposals = aes128gcm16-aes256gcm16,aes128-sha256,default
            }}
        }}
    }}
"""
_IKEV1_CONN = """\
    lab-ikev1 {{
        version = 1
        local_addrs = {address}
        proposals = {proposals}
        local {{
            auth = psk
            id = gateway.lab.test
        }}
        remote {{
            auth = psk
        }}
        children {{
            lab {{
                local_ts = 10.0.0.0/8
                esp_proposals = aes128-sha256,aes128-sha1,default
            }}
        }}
    }}
"""


def start_charon(
    lab_or_netns: Any,
    tmpdir: str | os.PathLike[str],
    address: str = "192.0.2.10",
    *,
    role: str = "dc",
    name: str = "charon",
    ikev2_proposals: str = IKEV2_PROPOSALS,
    ikev1_proposals: str = IKEV1_PROPOSALS,
    cookie_threshold: int = 1_000_000,
    cookie_threshold_ip: int = 1_000_000,
    block_threshold: int = 1_000_000,
    send_vendor_id: bool = True,
    libipsec: bool = False,
    extra_addresses: tuple[str, ...] = (),
    versions: tuple[int, ...] = (1, 2),
    timeout: float = 10.0,
) -> Charon:
    """Start charon in ``role``'s namespace of a lab (or in the namespace named
    ``lab_or_netns``), load the lab connections and return once it answers vici."""
    netns = lab_or_netns if isinstance(lab_or_netns, str) else lab_or_netns.ns(role)
    workdir = Path(tmpdir) / name
    rundir = workdir / "run"
    rundir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "strongswan.conf"
    conf.write_text(
        strongswan_conf(
            workdir,
            cookie_threshold=cookie_threshold,
            cookie_threshold_ip=cookie_threshold_ip,
            block_threshold=block_threshold,
            send_vendor_id=send_vendor_id,
            libipsec=libipsec,
        )
    )
    swan = workdir / "swanctl.conf"
    local_addrs = ", ".join((address, *extra_addresses))
    swan.write_text(
        swanctl_conf(local_addrs, ikev2_proposals=ikev2_proposals, ikev1_proposals=ikev1_proposals, versions=versions)
    )
    # private mount namespace: our own /run holds charon.pid, the distribution's stays untouched
    script = f'mount --bind "{rundir}" /run && exec {CHARON}'
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]
    stdout = open(workdir / "charon.stdout", "wb")  # noqa: SIM115 - owned by the child
    spawn = None if isinstance(lab_or_netns, str) else getattr(lab_or_netns, "spawn", None)
    process: subprocess.Popen[bytes]
    if callable(spawn):
        # the lab also kills it at teardown, whatever happens to this object
        process = spawn(role, argv, env={"STRONGSWAN_CONF": str(conf)}, stdout=stdout, stderr=subprocess.STDOUT)
    else:
        process = subprocess.Popen(
            ["ip", "netns", "exec", netns, *argv],
            env=dict(os.environ, STRONGSWAN_CONF=str(conf)),
            stdout=stdout,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    stdout.close()
    charon = Charon(netns, workdir, process, address, workdir / "charon.log", f"unix://{workdir}/charon.vici")
    _running.append(charon)
    register = getattr(lab_or_netns, "add_cleanup", None) or getattr(lab_or_netns, "callback", None)
    if callable(register):
        register(charon.stop)
    try:
        _wait_ready(charon, swan, timeout)
    except BaseException:
        charon.stop()
        raise
    return charon


def _wait_ready(charon: Charon, swan: Path, timeout: float) -> None:
    sock = charon.workdir / "charon.vici"
    end = time.monotonic() + timeout
    while not sock.exists():
        if charon.process.poll() is not None:
            raise RuntimeError(f"charon exited ({charon.process.returncode}): {_tail(charon)}")
        if time.monotonic() > end:
            raise RuntimeError(f"charon did not open its vici socket: {_tail(charon)}")
        time.sleep(0.02)
    while True:
        res = charon.swanctl("--load-all", "--noprompt", "--file", str(swan), check=False)
        if res.returncode == 0:
            return
        if time.monotonic() > end or charon.process.poll() is not None:
            raise RuntimeError(f"swanctl --load-all failed: {res.stdout}{res.stderr} {_tail(charon)}")
        time.sleep(0.05)


def _tail(charon: Charon) -> str:
    out = (
        (charon.workdir / "charon.stdout").read_text(errors="replace")
        if (charon.workdir / "charon.stdout").exists()
        else ""
    )
    return (out + charon.log_text())[-2000:]


@atexit.register
def _stop_all() -> None:
    for charon in list(_running):
        charon.stop()
