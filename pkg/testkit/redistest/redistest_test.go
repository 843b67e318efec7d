package redistest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/oeshq/oes/pkg/testkit/redistest"
)

func TestURLReturnsAnsweringRedis(t *testing.T) {
	t.Parallel()
	c := redistest.Client(t, redistest.URL(t))
	require.NoError(t, c.Do(context.Background(), c.B().Ping().Build()).Error())
}

func TestNamespaceIsUniqueAndNamesTheTest(t *testing.T) {
	t.Parallel()
	a, b := redistest.Namespace(t), redistest.Namespace(t)
	require.NotEqual(t, a, b)
	require.True(t, strings.HasPrefix(a, "test:TestNamespaceIsUniqueAndNamesTheTest:"), a)
}

func TestNamespaceKeysAreDeletedAfterTheTest(t *testing.T) {
	t.Parallel()
	c := redistest.Client(t, redistest.URL(t))
	ctx := context.Background()
	var ns string
	t.Run("writer", func(t *testing.T) {
		ns = redistest.Namespace(t)
		require.NoError(t, c.Do(ctx, c.B().Set().Key(ns+":k").Value("v").Build()).Error())
	})
	n, err := c.Do(ctx, c.B().Exists().Key(ns+":k").Build()).AsInt64()
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestServerStopsAndStartsOnSamePort(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	c := redistest.Client(t, srv.URL())
	ping := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return c.Do(ctx, c.B().Ping().Build()).Error()
	}
	ctx := context.Background()
	require.NoError(t, ping())
	require.NoError(t, c.Do(ctx, c.B().Set().Key("k").Value("v").Build()).Error())

	srv.Stop()
	require.Error(t, ping())
	srv.Stop() // stopping twice is harmless

	srv.Start()
	require.Eventually(t, func() bool { return ping() == nil }, 5*time.Second, 10*time.Millisecond)
	n, err := c.Do(ctx, c.B().Exists().Key("k").Build()).AsInt64()
	require.NoError(t, err)
	require.Zero(t, n, "nothing is persisted across a restart")
}

func TestSentinelNamesTheMasterAndItAcceptsWrites(t *testing.T) {
	t.Parallel()
	s := redistest.StartSentinel(t)
	ctx := t.Context()
	addr, err := s.MasterAddr(ctx)
	require.NoError(t, err)
	require.Equal(t, s.Master.Addr(), addr)
	require.True(t, strings.HasPrefix(s.URL(), "redis-sentinel://"+s.Sentinel.Addr()+"/0?master="), s.URL())

	c := redistest.Client(t, s.Master.URL())
	require.NoError(t, c.Do(ctx, c.B().Set().Key("k").Value("v").Build()).Error())
	r := redistest.Client(t, s.Replica.URL())
	require.Eventually(t, func() bool {
		v, err := r.Do(ctx, r.B().Get().Key("k").Build()).ToString()
		return err == nil && v == "v"
	}, 5*time.Second, 10*time.Millisecond, "the replica follows the master")
}

func TestClusterSpreadsSlotsOverThreeMasters(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t)
	require.Len(t, c.Nodes, 3)
	require.Equal(t, 2, strings.Count(c.URL(), ","), c.URL())
	ctx := t.Context()
	for _, n := range c.Nodes {
		node := redistest.Client(t, n.URL())
		slots, err := node.Do(ctx, node.B().ClusterCountkeysinslot().Slot(0).Build()).AsInt64()
		require.NoError(t, err, "every node is in cluster mode")
		require.Zero(t, slots)
	}
	sizes, err := c.DBSize(ctx)
	require.NoError(t, err)
	require.Len(t, sizes, 3)
}
