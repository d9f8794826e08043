"""DNS servers and clients for the App Routing suites: dnsmasq answering
from its own records only, with its query log on its output, and dig."""

import re


def dnsmasq(ns, workdir, name, listen, records, ttl=60):
    """dnsmasq on `listen`:53 of ns answering `records` ({name: address}),
    nothing else (no upstream, no /etc/hosts); its log is the Peer's."""
    argv = ["dnsmasq", "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
            "--user=root", "--bind-interfaces", "--port=53", f"--listen-address={listen}",
            f"--local-ttl={ttl}", f"--pid-file={workdir}/{name}.pid",
            "--log-queries", "--log-facility=-"]
    argv += [f"--address=/{n}/{a}" for n, a in records.items()]
    p = ns.popen(argv, name=name)
    p.wait_output("started, version", timeout=10)
    return p


def dig(ns, server, name, qtype="A"):
    """(status, [addresses]) of one query; "no-answer" on a timeout."""
    r = ns.run(["dig", "+time=4", "+tries=1", f"@{server}", name, qtype],
               check=False, timeout=10)
    status = re.search(r"status: (\w+)", r.stdout)
    return (status.group(1) if status else "no-answer",
            re.findall(rf"^{re.escape(name)}\.\s+\d+\s+IN\s+{qtype}\s+(\S+)$",
                       r.stdout, re.M))
