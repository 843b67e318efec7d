package redistest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/oeshq/oes/pkg/testkit/program"
)

// SentinelMaster is the name the sentinel of StartSentinel monitors its master under.
const SentinelMaster = "oes-test"

// Sentinel is a master, one replica and one sentinel watching them, each a private
// redis-server of one test. The sentinel fails the master over to the replica about two
// seconds after the master stops answering.
type Sentinel struct {
	Master   *Server // the master at start; after a failover, the replica is
	Replica  *Server
	Sentinel *Server
}

// StartSentinel starts a master, a replica in sync with it, and a sentinel that knows both
// (quorum 1, master down after 1s), and stops them when the test ends. It skips the test when
// redis-server is not installed, unless CI=true, where it fails it.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	bin := redisServer(t)
	// Redis waits 5s by default before a diskless full sync, for more replicas to join it.
	noDelay := []string{"--repl-diskless-sync-delay", "0"}
	master := startServer(t, bin, noDelay, "")
	replica := startServer(t, bin, append(noDelay, "--replicaof", "127.0.0.1", strconv.Itoa(master.port)), "")
	// The sentinel learns of replicas from the master's INFO, asked at once and then every 10s:
	// start it only when the replica is attached, so that it knows the replica from the start.
	waitFor(t, 10*time.Second, "the replica to sync with the master", func(ctx context.Context) error {
		info, err := command(ctx, replica.Addr(), "INFO", "replication")
		if err == nil && !strings.Contains(info, "master_link_status:up") {
			err = fmt.Errorf("replication: %s", info)
		}
		return err
	})
	conf := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d 1\n"+
		"sentinel down-after-milliseconds %[1]s 1000\n"+
		"sentinel failover-timeout %[1]s 3000\n"+
		"sentinel parallel-syncs %[1]s 1\n", SentinelMaster, master.port)
	s := &Sentinel{Master: master, Replica: replica, Sentinel: startServer(t, bin, nil, conf)}
	waitFor(t, 10*time.Second, "the sentinel to discover the replica", func(ctx context.Context) error {
		out, err := command(ctx, s.Sentinel.Addr(), "SENTINEL", "REPLICAS", SentinelMaster)
		if err == nil && !strings.Contains(out, strconv.Itoa(replica.port)) {
			err = fmt.Errorf("replicas: %s", out)
		}
		return err
	})
	return s
}

// URL returns the redis-sentinel:// URL of the master, database 0.
func (s *Sentinel) URL() string {
	return "redis-sentinel://" + s.Sentinel.Addr() + "/0?master=" + SentinelMaster
}

// MasterAddr asks the sentinel which address is the master now.
func (s *Sentinel) MasterAddr(ctx context.Context) (string, error) {
	out, err := command(ctx, s.Sentinel.Addr(), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SentinelMaster)
	if err != nil {
		return "", err
	}
	f := strings.Fields(out)
	if len(f) != 2 {
		return "", fmt.Errorf("unexpected reply %q", out)
	}
	return net.JoinHostPort(f[0], f[1]), nil
}

// Cluster is a Redis Cluster of three masters without replicas, each a private redis-server
// of one test, with the 16384 slots split evenly among them.
type Cluster struct {
	Nodes []*Server
}

// StartCluster starts three cluster-enabled servers, joins them with redis-cli --cluster
// create, waits until every node reports cluster_state:ok, and stops them when the test ends.
// It skips the test when redis-server or redis-cli is not installed, unless CI=true, where it
// fails it.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := redisServer(t)
	cli := program.Find(t, "redis-cli", "Redis (the redis-tools package)")
	c := &Cluster{}
	for range 3 {
		bus, err := freePort()
		if err != nil {
			t.Fatalf("redistest: find a free port: %v", err)
		}
		c.Nodes = append(c.Nodes, startServer(t, bin, []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "2000",
			"--cluster-port", strconv.Itoa(bus),
		}, ""))
	}
	args := []string{"--cluster", "create"}
	for _, n := range c.Nodes {
		args = append(args, n.Addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out.String())
	}
	for _, n := range c.Nodes {
		waitFor(t, 15*time.Second, "cluster_state:ok on "+n.Addr(), func(ctx context.Context) error {
			info, err := command(ctx, n.Addr(), "CLUSTER", "INFO")
			if err == nil && !strings.Contains(info, "cluster_state:ok") {
				err = fmt.Errorf("cluster info: %s", info)
			}
			return err
		})
	}
	return c
}

// URL returns the redis-cluster:// URL that names every node.
func (c *Cluster) URL() string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr()
	}
	return "redis-cluster://" + strings.Join(addrs, ",")
}

// DBSize returns how many keys each node holds, by address.
func (c *Cluster) DBSize(ctx context.Context) (map[string]int64, error) {
	sizes := make(map[string]int64, len(c.Nodes))
	for _, n := range c.Nodes {
		out, err := command(ctx, n.Addr(), "DBSIZE")
		if err != nil {
			return nil, err
		}
		if sizes[n.Addr()], err = strconv.ParseInt(out, 10, 64); err != nil {
			return nil, fmt.Errorf("DBSIZE of %s: %q", n.Addr(), out)
		}
	}
	return sizes, nil
}

// redisServer returns the path of redis-server; see program.Find.
func redisServer(t testing.TB) string {
	t.Helper()
	return program.Find(t, "redis-server", "Redis (the redis-server package)")
}

// waitFor polls check every 50ms until it succeeds, failing the test with what is awaited and
// the last error after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, check func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := check(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: waited %v for %s: %v", timeout, what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// command sends one command to the server at addr over a connection of its own and returns
// the reply as text: a string as is, an integer in decimal, an array flattened into
// space-separated words. A single-server client talks to a sentinel or a cluster node alike.
func command(ctx context.Context, addr string, args ...string) (string, error) {
	c, err := newClient("redis://" + addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	msg, err := c.Do(ctx, c.B().Arbitrary(args[0]).Args(args[1:]...).Build()).ToMessage()
	if err != nil {
		return "", err
	}
	return text(msg), nil
}

func text(m rueidis.RedisMessage) string {
	if s, err := m.ToString(); err == nil {
		return s
	}
	if n, err := m.AsInt64(); err == nil {
		return strconv.FormatInt(n, 10)
	}
	if a, err := m.ToArray(); err == nil {
		words := make([]string, len(a))
		for i, e := range a {
			words[i] = text(e)
		}
		return strings.Join(words, " ")
	}
	if kv, err := m.AsMap(); err == nil {
		var words []string
		for k, v := range kv {
			words = append(words, k, text(v))
		}
		return strings.Join(words, " ")
	}
	return ""
}
