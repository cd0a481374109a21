"""A small UPnP IGD + NAT-PMP responder for the lab's router namespace.

Answers SSDP M-SEARCH (unicast and on 239.255.255.250), serves a device
description and a GetExternalIPAddress SOAP answer with ``--wan-ip``, and NAT-PMP
external address requests. ``--hostile`` serves an entity-expansion bomb
instead, to check that the probe refuses it; ``--drip 0.5`` sends the description one byte
every half second (a gateway slow enough to outlast any per-read timeout). Standalone script (run with
``ip netns exec``); prints "ready" once listening.
"""

from __future__ import annotations

import argparse
import http.server
import ipaddress
import socket
import struct
import sys
import threading
import time

DESC = """<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
 <specVersion><major>1</major><minor>0</minor></specVersion>
 <device>
  <deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
  <friendlyName>Lab Clinic Router</friendlyName>
  <manufacturer>clinicnet lab</manufacturer>
  <modelName>LAB-R1</modelName>
  <deviceList><device>
   <deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
   <deviceList><device>
    <deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
    <serviceList><service>
     <serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
     <serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
     <controlURL>/ctl/IPConn</controlURL>
     <SCPDURL>/WANIPCn.xml</SCPDURL>
    </service></serviceList>
   </device></deviceList>
  </device></deviceList>
 </device>
</root>
"""

SOAP = """<?xml version="1.0"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">
<s:Body><u:GetExternalIPAddressResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1">
<NewExternalIPAddress>{wan}</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>
"""

BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<root><device><friendlyName>&lol3;</friendlyName></device></root>
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lan-ip", required=True)
    ap.add_argument("--wan-ip", required=True)
    ap.add_argument("--http-port", type=int, default=5000)
    ap.add_argument("--hostile", action="store_true")
    ap.add_argument("--drip", type=float, default=0.0, metavar="SECONDS",
                    help="hostile: send the description one byte per SECONDS (slow gateway)")
    args = ap.parse_args()
    location = f"http://{args.lan_ip}:{args.http_port}/rootDesc.xml"

    class Handler(http.server.BaseHTTPRequestHandler):
        def _send(self, body: str) -> None:
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if args.drip > 0:
                try:
                    self.wfile.flush()
                    for i in range(len(data)):
                        self.wfile.write(data[i:i + 1])
                        self.wfile.flush()
                        time.sleep(args.drip)
                except OSError:
                    pass  # the client gave up
                return
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._send(BOMB if args.hostile else DESC)

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._send(SOAP.format(wan=args.wan_ip))

        def log_message(self, *a: object) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        def server_bind(self) -> None:  # no reverse DNS lookup (stalls without DNS)
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind(self.server_address)
            self.server_name, self.server_port = self.server_address[0], self.server_address[1]

    httpd = Server((args.lan_ip, args.http_port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    ssdp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ssdp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ssdp.bind(("0.0.0.0", 1900))
    mreq = struct.pack("4s4s", socket.inet_aton("239.255.255.250"), socket.inet_aton(args.lan_ip))
    ssdp.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)

    def ssdp_loop() -> None:
        while True:
            data, addr = ssdp.recvfrom(4096)
            if data.startswith(b"M-SEARCH"):
                ssdp.sendto((
                    "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\n"
                    "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
                    f"USN: uuid:lab::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
                    f"LOCATION: {location}\r\nSERVER: Linux UPnP/1.1 lab/1.0\r\n\r\n").encode(), addr)

    threading.Thread(target=ssdp_loop, daemon=True).start()

    pmp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    pmp.bind((args.lan_ip, 5351))

    def pmp_loop() -> None:
        wan = ipaddress.IPv4Address(args.wan_ip).packed
        while True:
            data, addr = pmp.recvfrom(1100)
            if data[:2] == b"\x00\x00":
                pmp.sendto(struct.pack("!BBHI4s", 0, 128, 0, int(time.time()) & 0xFFFFFFFF, wan), addr)

    threading.Thread(target=pmp_loop, daemon=True).start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
