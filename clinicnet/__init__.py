"""clinicnet: can this clinic network carry the IPsec+IKE VPN used for online billing, and if not, why?"""

__version__ = "0.1.0"

#: version of the JSON result format (``"schema"`` key); bump on incompatible change
SCHEMA = "clinicnet.report/1"
SCHEMA_VERSION = 1
