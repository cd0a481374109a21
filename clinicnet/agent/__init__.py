"""The command line, configuration and orchestration of probes."""
