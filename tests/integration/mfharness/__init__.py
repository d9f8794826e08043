"""Integration-test harness: network namespaces, the mintflow daemon, and
guards that the machine's own network configuration is never touched."""
