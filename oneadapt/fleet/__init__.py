"""Many streams, one uplink budget: the fleet coordinator, its member policy, the
in-process fleet and the deployed ``oneadapt fleet``."""
