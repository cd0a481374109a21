"""The support bundle (``diagnose --bundle PATH.zip [--capture] [--redact]``).

* :mod:`~clinicnet.bundle.bundle`: the zip a clinic attaches to a ticket (report,
  result, Japanese summary, probe log, manifest, and the capture);
* :mod:`~clinicnet.bundle.capture`: capturing the probes' own traffic with the
  tool the PC has (the OS-specific parts are in :mod:`clinicnet.system.capture`);
* :mod:`~clinicnet.bundle.pcap_redact`: rewriting that capture so that a
  redacted bundle leaks no address, name or MAC in any byte.

Nothing is imported here: ``clinicnet diagnose`` without ``--bundle`` never loads it.
"""
