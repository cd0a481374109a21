"""The reflector server (``clinicnet reflector``): what the ESP, NAT-mapping and fragment probes talk to.

A clinic PC cannot see its own NAT, ESP filter or fragment-dropping router from
inside; something on the internet has to say "this is what arrived". The
reflector answers IKE-shaped requests on UDP 500/4500 and ESP probes (raw IP
protocol 50 and ESP-in-UDP) with what it observed. The wire format is in
``clinicnet.wire.reflector`` and docs/reflector.md.

The package keeps apart what changes for different reasons:

* :mod:`~clinicnet.reflector.options`: the command-line options and their
  validation (argparse only, imported at every ``clinicnet`` start);
* :mod:`~clinicnet.reflector.core`: the decisions without sockets (parse,
  rate-limit, build the reply, count), so tests, fuzzing and the benchmark drive
  exactly the code the server runs;
* :mod:`~clinicnet.reflector.server`: sockets, the serving loop, binding and the
  privilege drop.

Nothing is imported here: building the CLI parser must stay light.
"""
