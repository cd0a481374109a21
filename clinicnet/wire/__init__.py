"""Wire formats. The IKE codec builds the first message of an IKE exchange and parses any reply.

Pure functions over ``bytes`` (``struct`` only, no sockets, no scapy) so the probe
imports fast on a clinic PC and every parser can be fuzzed without a network.
The parsers never raise: whatever arrives on UDP 500/4500 becomes a
:class:`~clinicnet.wire.ike.ParsedReply` whose ``kind`` says what it was.

``ikebase`` holds what IKEv1 and IKEv2 share (header, payload chain, the parsed
reply, NAT detection), ``ikev2`` and ``ikev1`` the version-specific builders and
parsers on top of it, ``ike`` the entry point that classifies any datagram and
hands it to the right version (and re-exports ``ikebase``), ``vendor_ids`` the table of known vendor IDs and ``dh`` the
Diffie-Hellman public values a real initiator would send; ``reflector`` and
``upnp`` are the reflector protocol and the router's UPnP/NAT-PMP answers.
Nothing is re-exported here, so importing one format does not load the others.
"""
