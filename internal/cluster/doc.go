// Package cluster starts real Redis topologies from redis-server processes
// for tests: a Redis Cluster of three masters ([StartCluster]) and a Sentinel
// group of one master, one replica and three sentinels ([StartSentinel]).
//
// No Docker engine is needed: every node is a redis-server child process on a
// free loopback port, with its files in a temporary directory, stopped and
// removed when the test ends (and killed with the test binary, on Linux, if
// the binary dies first). Nodes keep nothing on disk (no RDB, no AOF), so a
// topology starts in well under a second for the cluster and a few seconds
// for the sentinels, which must discover each other before a failover can be
// voted.
//
// # Why real servers
//
// miniredis has no cluster mode and no sentinel. The shared test Redis is a
// standalone server. Only real nodes show a CROSSSLOT error from a multi-key
// command whose keys hash to different slots, a MOVED redirection, or a
// client that must find the new master after a failover.
//
// # Missing redis-server
//
// When redis-server is not installed, the helpers fail the test (they never
// skip it), naming the binary they looked for and the package that provides
// it, so CI cannot pass without having run the scale-out tests.
//
// # Example
//
//	c := cluster.StartCluster(t, cluster.Config{})
//	r, err := config.OpenRedis(c.URL()) // redis-cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3
//
//	s := cluster.StartSentinel(t, cluster.Config{})
//	r, err := config.OpenRedis(s.URL()) // redis-sentinel://127.0.0.1:s1,.../vlensq
//	old, now, err := s.KillMaster(ctx)   // SIGKILL the master; returns once a replica is promoted
package cluster
